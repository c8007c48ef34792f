"""Lint passes: ruff on the Python code, sqlfluff (dbt templater, sparksql) on the SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import PROJECT_ROOT

BIN = Path(sys.executable).parent


def test_ruff() -> None:
    completed = subprocess.run(
        [str(BIN / "ruff"), "check", "."], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout[-3000:]


def test_sqlfluff(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MOVIELENS_SPARK_DIR": str(tmp_path / "spark"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    completed = subprocess.run(
        [str(BIN / "sqlfluff"), "lint", "models", "data_tests", "--disable-progress-bar"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-4000:]
