"""``python_jobs.datasets.layouts`` and the dbt macro that reads MovieLens files agree.

The macro ``movielens_layouts()`` (``macros/movielens_sources.sql``) cannot import the Python
table, so it holds the same table in Jinja. This test renders the macro with Jinja (as dbt
would, without a warehouse) and compares the two, field by field.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2

from python_jobs.datasets import generator
from python_jobs.datasets.layouts import ENTITY_COLUMNS, GENRES_100K, LAYOUTS, FileFormat
from tests.support import PROJECT_ROOT

MACROS = (PROJECT_ROOT / "macros" / "movielens_sources.sql").read_text()


class _Returned(Exception):  # noqa: N818 (not an error: the value of return())
    def __init__(self, value: Any) -> None:
        self.value = value


def _return(value: Any) -> None:
    raise _Returned(value)


def render_macro(name: str) -> Any:
    """What the argument-less macro ``name`` returns (dbt's ``return()``)."""
    match = re.search(rf"{{% macro {name}\(\) %}}.*?{{% endmacro %}}", MACROS, flags=re.DOTALL)
    assert match, f"no macro {name}() in macros/movielens_sources.sql"
    environment = jinja2.Environment(extensions=["jinja2.ext.do"])
    environment.globals["return"] = _return
    try:
        environment.from_string(match.group(0) + f"{{{{ {name}() }}}}").render()
    except _Returned as returned:
        return returned.value
    raise AssertionError(f"{name}() returned nothing")


def sql_unescaped(value: Any) -> Any:
    """The macro's strings go into SQL literals, where ``\\t`` and ``\\u0000`` are escapes."""
    if isinstance(value, str):
        return value.encode("latin-1", "backslashreplace").decode("unicode_escape")
    if isinstance(value, dict):
        return {key: sql_unescaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [sql_unescaped(item) for item in value]
    return value


def reader_options(file_format: FileFormat) -> dict[str, str]:
    options = {
        "header": "true" if file_format.header else "false",
        "sep": file_format.sep,
        "quote": file_format.quote,
        "encoding": file_format.encoding,
    }
    if file_format.escape is not None:
        options["escape"] = file_format.escape
    return options


def table_as_macro() -> dict[str, Any]:
    """The Python table in the macro's shape."""
    layouts: dict[str, Any] = {
        name: {
            "description": layout.description,
            "required": list(layout.required),
            "entities": {
                entity: {
                    "file": spec.file,
                    "options": reader_options(spec.format),
                    "columns": list(spec.columns),
                }
                for entity, spec in layout.entities.items()
            },
        }
        for name, layout in LAYOUTS.items()
    }
    layouts["entity_columns"] = {entity: list(cols) for entity, cols in ENTITY_COLUMNS.items()}
    return layouts


def differences(macro: Any, table: Any, path: str = "") -> list[str]:
    if isinstance(macro, dict) and isinstance(table, dict):
        found = []
        for key in sorted(set(macro) | set(table)):
            where = f"{path}.{key}" if path else key
            if key not in table:
                found.append(f"{where}: in the macro only")
            elif key not in macro:
                found.append(f"{where}: in python_jobs/datasets/layouts.py only")
            else:
                found += differences(macro[key], table[key], where)
        return found
    return [] if macro == table else [f"{path}: macro {macro!r}, layouts.py {table!r}"]


def test_the_macro_holds_the_layouts_table() -> None:
    macro = render_macro("movielens_layouts")
    genres_select = macro["ml-100k"]["entities"]["movies"].pop("select")
    macro = sql_unescaped(macro)
    found = differences(macro, table_as_macro())
    assert found == [], "macro movielens_layouts() vs layouts.py:\n" + "\n".join(found)
    flags = re.findall(
        r"if\(genre_(\d+) = '1', '((?:[^'\\]|\\.)*)', null\)", genres_select["genres"]
    )
    assert [int(index) for index, _ in flags] == list(range(len(GENRES_100K)))
    assert [name.replace("\\'", "'") for _, name in flags] == list(GENRES_100K)


def test_the_macro_detects_layouts_in_the_tables_order() -> None:
    detect = re.search(
        r"{% macro movielens_detect_layout.*?{%- set names = (\[.*?\]) -%}", MACROS, re.DOTALL
    )
    assert detect, "movielens_detect_layout() no longer lists the layouts it tries"
    assert re.findall(r"'([\w-]+)'", detect.group(1)) == list(LAYOUTS)


def test_the_comparison_sees_a_changed_field() -> None:
    macro = sql_unescaped(render_macro("movielens_layouts"))
    macro["ml-100k"]["entities"]["movies"].pop("select")
    macro["ml-1m"]["entities"]["ratings"]["options"]["encoding"] = "UTF-8"
    assert differences(macro, table_as_macro()) == [
        "ml-1m.entities.ratings.options.encoding: macro 'UTF-8', layouts.py 'ISO-8859-1'"
    ]


def test_the_generator_writes_every_release_of_the_table() -> None:
    assert generator.LAYOUTS[: len(LAYOUTS)] == tuple(LAYOUTS)
    for name, layout in LAYOUTS.items():
        written = set(generator._file_names(name).values())  # with a genome, if asked
        assert set(layout.required) <= written
        assert {spec.file for spec in layout.entities.values()} <= written


def test_the_movielens_layout_var_accepts_exactly_the_tables_layouts() -> None:
    """``var_kinds()`` (``macros/check_vars.sql``) lists the values ``movielens_layout`` takes."""
    check_vars = (PROJECT_ROOT / "macros" / "check_vars.sql").read_text()
    allowed = re.search(r"'movielens_layout':\s*\[(.*?)\]", check_vars, re.DOTALL)
    assert allowed, "var_kinds() no longer lists the values of movielens_layout"
    assert re.findall(r"'([\w-]+)'", allowed.group(1)) == ["auto", *LAYOUTS]
