"""``dbt_spark_oss_python.engines``: a SQL model's Python engine, and its SQL when it declines.

The end-to-end choices (auto on the session and on a thrift target with and without Spark
Connect, an explicit sql, a declining engine) run in the suite's builds: tests/dbt/
test_pair_engines.py, test_item_knn.py and tests/cluster/.
"""

from __future__ import annotations

from typing import Any

import pytest

from dbt_spark_oss_python.engines import resolve_function, run_engine


class FakeSpark:
    """Records what the engine asked of the session."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def table(self, name: str) -> str:
        return f"<table {name}>"

    def sql(self, query: str) -> str:
        self.queries.append(query)
        return f"<rows of {query}>"


CALLS: list[dict[str, Any]] = []


def engine_with_session(*, session: Any, ratings: Any, min_raters: int) -> str:
    CALLS.append({"session": session, "ratings": ratings, "min_raters": min_raters})
    return "<engine rows>"


def engine_without_session(*, ratings: Any, bound: int) -> None:
    CALLS.append({"ratings": ratings, "bound": bound})
    return None  # declines: over its bound


def call(spark: FakeSpark, function: str, **arguments: Any) -> Any:
    return run_engine(
        spark,
        model="m",
        engine="fast",
        function=f"{__name__}.{function}",
        tables={"ratings": "schema.ratings"},
        arguments=arguments,
        sql="select 1 as definition",
    )


def test_the_engine_gets_tables_vars_and_the_session_and_its_rows_are_the_table() -> None:
    CALLS.clear()
    spark = FakeSpark()
    assert call(spark, "engine_with_session", min_raters=10) == "<engine rows>"
    assert [{"session": spark, "ratings": "<table schema.ratings>", "min_raters": 10}] == CALLS
    assert spark.queries == []  # the SQL did not run


def test_a_declining_engine_runs_the_sql_definition() -> None:
    CALLS.clear()
    spark = FakeSpark()
    assert call(spark, "engine_without_session", bound=3) == "<rows of select 1 as definition>"
    assert CALLS == [{"ratings": "<table schema.ratings>", "bound": 3}]  # no session asked
    assert spark.queries == ["select 1 as definition"]


@pytest.mark.parametrize(
    "path",
    ["python_jobs.pair_products.no_such_function", "no_such_module.function", "nodots"],
)
def test_an_unknown_function_fails_in_one_line_naming_it(path: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve_function(path)
    assert str(info.value).startswith(f"python_engine function {path!r} not found")
    assert "\n" not in str(info.value)
