"""The test suite keeps one of each helper: one Spark session, one dbt runner, one port finder.

A second copy drifts (sessions never stopped, runners that differ in their environment);
these checks name the file that brings one back.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import PROJECT_ROOT

TESTS = PROJECT_ROOT / "tests"
# name -> the one module allowed to define it
SHARED_HELPERS = {
    "spark": "tests/conftest.py",
    "run_dbt": "tests/support.py",
    "DbtRun": "tests/support.py",
    "free_port": "tests/support.py",
    "free_ports": "tests/support.py",
    "movielens_dir": "tests/support.py",
}


def suite_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "fixtures" not in p.relative_to(TESTS).parts)


def definitions(tree: ast.Module) -> set[str]:
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def test_shared_helpers_are_defined_once() -> None:
    copies = []
    for path in suite_files():
        relative = str(path.relative_to(PROJECT_ROOT))
        for name in definitions(ast.parse(path.read_text())) & set(SHARED_HELPERS):
            if SHARED_HELPERS[name] != relative:
                copies.append(f"{relative} defines {name}; use the one in {SHARED_HELPERS[name]}")
    assert copies == [], "\n".join(copies)


def test_only_the_spark_fixture_builds_an_in_process_session() -> None:
    """Other tests take the ``spark`` fixture; a driver started elsewhere is never stopped."""
    builders = []
    for path in suite_files():
        if path.name == "conftest.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "build_spark_session":
                    builders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert builders == [], f"use the spark fixture of tests/conftest.py instead: {builders}"
