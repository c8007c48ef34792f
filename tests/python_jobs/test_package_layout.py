"""The package's layers: the library never loads the data sets or the tools, and no module
imports itself back through another (an import cycle).

The library is every module of ``python_jobs`` outside ``python_jobs.datasets`` and
``python_jobs.tools``: what the dbt Python models import. Data sets and tools may import the
library, never the other way round.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import python_jobs
from tests.support import PROJECT_ROOT

PACKAGE_DIR = Path(python_jobs.__file__).resolve().parent
OUTSIDE_THE_LIBRARY = ("python_jobs.datasets", "python_jobs.tools")


def all_modules() -> list[str]:
    """Every module and package of ``python_jobs``, by dotted name."""
    found = ["python_jobs"]
    for info in pkgutil.walk_packages([str(PACKAGE_DIR)], prefix="python_jobs."):
        found.append(info.name)
    return sorted(found)


def library_modules() -> list[str]:
    return [
        name
        for name in all_modules()
        if not any(name == outer or name.startswith(outer + ".") for outer in OUTSIDE_THE_LIBRARY)
    ]


def module_path(name: str) -> Path:
    relative = Path(*name.split(".")[1:])
    package_init = PACKAGE_DIR / relative / "__init__.py"
    return package_init if package_init.is_file() else (PACKAGE_DIR / relative).with_suffix(".py")


def imported_modules(name: str, source: str, known: set[str], *, is_package: bool) -> set[str]:
    """The modules of ``known`` that ``source`` (module ``name``) imports, functions included."""
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in targets if target in known and target != name}


def import_graph() -> dict[str, set[str]]:
    known = set(all_modules())
    return {
        name: imported_modules(
            name,
            module_path(name).read_text(),
            known,
            is_package=module_path(name).name == "__init__.py",
        )
        for name in known
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle found by a depth-first walk, as the list of modules around it."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(path: list[str]) -> None:
        for target in sorted(graph[path[-1]]):
            if target in path:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in done:
                visit([*path, target])
        done.add(path[-1])

    for start in sorted(graph):
        if start not in done:
            visit([start])
    return cycles


def test_the_package_has_a_library_data_sets_and_tools() -> None:
    modules = all_modules()
    assert "python_jobs.spark" in library_modules()
    assert "python_jobs.datasets.generator" in modules
    assert "python_jobs.tools.local_cluster" in modules
    assert "python_jobs.tools.jvm_archive" in modules


@pytest.mark.parametrize("module", library_modules())
def test_importing_a_library_module_loads_no_data_sets_or_tools(module: str) -> None:
    """Each library module, imported alone in a fresh interpreter, stays within the library."""
    script = (
        "import importlib, json, sys\n"
        f"importlib.import_module({module!r})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('python_jobs'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    outside = [name for name in loaded if name.startswith(OUTSIDE_THE_LIBRARY)]
    assert outside == [], f"importing {module} loads {outside}"


def test_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_library_imports_nothing_from_data_sets_or_tools() -> None:
    graph = import_graph()
    wrong = {
        module: sorted(t for t in graph[module] if t.startswith(OUTSIDE_THE_LIBRARY))
        for module in library_modules()
    }
    assert {module: targets for module, targets in wrong.items() if targets} == {}


def test_the_cycle_check_sees_an_import_hidden_in_a_function() -> None:
    """The check would have caught the former spark <-> jvm_archive cycle."""
    known = {"python_jobs", "python_jobs.spark", "python_jobs.tools", "python_jobs.tools.a"}
    spark = "def f():\n    from python_jobs.tools import a\n    return a\n"
    tool = "from ..spark import build_spark_session\n"
    graph = {
        "python_jobs.spark": imported_modules("python_jobs.spark", spark, known, is_package=False),
        "python_jobs.tools.a": imported_modules(
            "python_jobs.tools.a", tool, known, is_package=False
        ),
    }
    assert graph["python_jobs.spark"] == {"python_jobs.tools", "python_jobs.tools.a"}
    assert graph["python_jobs.tools.a"] == {"python_jobs.spark"}
    graph["python_jobs.tools"] = set()
    assert ["python_jobs.spark", "python_jobs.tools.a", "python_jobs.spark"] in find_cycles(graph)


def test_console_scripts_run_functions_of_the_package() -> None:
    """``movielens-generate`` and the like load (the installed metadata follows pyproject)."""
    scripts = [
        entry
        for entry in importlib.metadata.distribution("movielens-dbt-spark").entry_points
        if entry.group == "console_scripts"
    ]
    assert {entry.name for entry in scripts} >= {"movielens-generate"}
    for entry in scripts:
        assert entry.value.startswith("python_jobs."), entry
        assert callable(entry.load()), entry
