"""Helpers shared by the tests: where the data is, and running the dbt CLI as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MOVIELENS_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"
PROFILE = PROJECT_ROOT / "profiles" / "profiles.yml"
DBT = str(Path(sys.executable).with_name("dbt"))


def movielens_dir(name: str, required_file: str) -> Path:
    """Return the directory of a real MovieLens data set, or skip the test saying why."""
    path = DATA_DIR / name
    if not (path / required_file).is_file():
        pytest.skip(
            f"MovieLens {name} not found at {path} (set MOVIELENS_DATA_DIR to the folder "
            f"holding {name}/{required_file})"
        )
    return path


@dataclass(frozen=True)
class DbtRun:
    """One finished dbt invocation and where its warehouse lives."""

    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float
    spark_dir: Path
    schema: str

    def table_path(self, table: str) -> Path:
        return self.spark_dir / "warehouse" / f"{self.schema}.db" / table

    def read_table(self, table: str) -> pd.DataFrame:
        """Read a parquet table the build wrote, straight from the warehouse directory."""
        path = self.table_path(table)
        if not path.is_dir():
            raise AssertionError(f"table {table} was not written at {path}")
        return pd.read_parquet(path)


def run_dbt(
    args: Sequence[str],
    *,
    spark_dir: Path,
    work_dir: Path,
    schema: str = "movielens",
    env: dict[str, str] | None = None,
    timeout: float = 1500,
) -> DbtRun:
    """Run the dbt CLI from the project root as a user would, isolated in ``spark_dir``."""
    full_env = {
        **os.environ,
        "MOVIELENS_SPARK_DIR": str(spark_dir),
        "DBT_SCHEMA": schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    command = [
        DBT,
        *args,
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    run = DbtRun(
        args=tuple(args),
        returncode=completed.returncode,
        output=completed.stdout,
        seconds=time.monotonic() - started,
        spark_dir=spark_dir,
        schema=schema,
    )
    log_copy = ARTIFACTS_DIR / f"dbt-{work_dir.name}.log"
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    log_copy.write_text(run.output)
    return run


def assert_dbt_ok(run: DbtRun) -> None:
    if run.returncode != 0:
        tail = "\n".join(run.output.splitlines()[-60:])
        raise AssertionError(f"dbt {' '.join(run.args)} failed ({run.returncode}):\n{tail}")


def dbt_rendered_local_target(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``local`` target's ``server_side_parameters`` as dbt itself renders them."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(dict(environ))
    raw = yaml.safe_load(PROFILE.read_text())["movielens"]["outputs"]["local"]
    rendered = ProfileRenderer({}).render_data(raw)["server_side_parameters"]
    return {key: str(value) for key, value in rendered.items()}
