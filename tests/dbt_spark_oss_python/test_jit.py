"""The local driver's JIT follows the size of the input (dbt_spark_oss_python/jit.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dbt_spark_oss_python.jit import JIT_DIRECTIVES, full_jit_for_large_input

PROFILE_OPTIONS = (
    "-Dlog4j2.configurationFile=profiles/log4j2.properties -XX:SharedArchiveFile=a.jsa "
    "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -Xss16m"
)


def ratings_folder(tmp_path: Path, name: str, size: int) -> Path:
    folder = tmp_path / "movielens"
    folder.mkdir()
    with open(folder / name, "wb") as handle:
        handle.truncate(size)  # sparse: the size without the disk
    return folder


@pytest.mark.parametrize("name", ["ratings.csv", "ratings.dat", "u.data"])
def test_a_large_ratings_file_turns_the_quick_tier_off(tmp_path: Path, name: str) -> None:
    folder = ratings_folder(tmp_path, name, 26_000_000)  # 1M ratings in the .dat layout
    params = {"spark.driver.extraJavaOptions": PROFILE_OPTIONS}
    assert full_jit_for_large_input(params, {"movielens_path": str(folder)}, {}) == 26_000_000
    assert params["spark.driver.extraJavaOptions"] == (
        "-Dlog4j2.configurationFile=profiles/log4j2.properties -XX:SharedArchiveFile=a.jsa -Xss16m "
        "-XX:CompileThresholdScaling=3 -XX:+UseParallelGC -XX:+UnlockDiagnosticVMOptions "
        f"-XX:CompilerDirectivesFile={JIT_DIRECTIVES}"
    )


@pytest.mark.parametrize(
    ("size", "env", "movielens_path"),
    [
        (2_400_000, {}, True),  # ml-latest-small's ratings.csv
        (26_000_000, {"SPARK_DRIVER_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1"}, True),
        (26_000_000, {}, False),  # the demo seeds: no movielens_path
    ],
    ids=["small-input", "user-options-win", "demo-seeds"],
)
def test_the_quick_tier_stays_otherwise(
    tmp_path: Path, size: int, env: dict[str, str], movielens_path: bool
) -> None:
    folder = ratings_folder(tmp_path, "ratings.csv", size)
    params = {"spark.driver.extraJavaOptions": PROFILE_OPTIONS}
    cli_vars = {"movielens_path": str(folder)} if movielens_path else {}
    assert full_jit_for_large_input(params, cli_vars, env) is None
    assert params["spark.driver.extraJavaOptions"] == PROFILE_OPTIONS


def test_the_driver_jvm_takes_the_compiler_directives() -> None:
    """The JVM reads the directives file at start: it must parse, and every pattern must reach
    the optimizing compiler (C2) as an exclusion, not the quick one (a JVM that cannot parse
    the file refuses to start, which would fail every large build)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        pytest.skip("no java on PATH or under JAVA_HOME")
    patterns = json.loads(JIT_DIRECTIVES.read_text())[0]["match"]
    printed = subprocess.run(
        [
            java, "-XX:+UnlockDiagnosticVMOptions", f"-XX:CompilerDirectivesFile={JIT_DIRECTIVES}",
            "-XX:+CompilerDirectivesPrint", "-version",
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    matching = printed.split("matching: ", 1)[1].split("\n", 1)[0].split(", ")
    assert sorted(matching) == sorted(patterns)
    c1, c2 = printed.split(" c1 directives:", 1)[1].split(" c2 directives:", 1)
    assert " Exclude:false " in c1
    assert " Exclude:true " in c2
