"""Lint passes: the commands of `make lint`, read from the Makefile and run as they are."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT

BIN = Path(sys.executable).parent


def make_lint_commands() -> list[str]:
    """The recipe lines of the Makefile's ``lint`` target."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = re.search(r"^lint:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert recipe, "the Makefile has no lint target"
    return [line.strip() for line in recipe.group(1).splitlines()]


def test_make_lint_covers_python_formatting_sql_and_macros() -> None:
    commands = make_lint_commands()
    assert any(c.endswith("ruff check .") for c in commands)
    assert any(c.endswith("ruff format --check .") for c in commands)
    linted = {
        path
        for command in commands
        if "sqlfluff lint" in command
        for path in shlex.split(command)[2:]
        if not path.startswith("-") and path != "jinja"
    }
    assert {"models", "macros", "data_tests"} <= linted
    assert all((PROJECT_ROOT / path).is_dir() for path in linted), linted


@pytest.mark.dbt
@pytest.mark.parametrize("command", make_lint_commands())
def test_make_lint_command_passes(command: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MOVIELENS_SPARK_DIR": str(tmp_path / "spark"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    completed = subprocess.run(
        shlex.split(command.replace("$(BIN)", str(BIN))),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
