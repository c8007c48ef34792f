"""The Python engine of a SQL model: same table, computed by a Python function.

A SQL model stays the readable definition of its table; its YAML config ``python_engine``
may name a function that computes the same rows faster (``macros/engines.sql`` documents the
config). When the table materialization chooses that engine, it runs generated Python model
code that calls :func:`run_engine` here, on the session or Spark Connect like any dbt Python
model, and writes what it returns.

The function's contract: keyword arguments named as in the config (tables as DataFrames,
vars and literals as values, plus ``session`` when it takes one); it returns the rows (a
DataFrame, or an object the table writer knows: ``dbt_spark_oss_python.tables``), or None
when it cannot run here (its memory bound, say), having logged why on the ``python_jobs``
logger. Then the model's compiled SQL runs instead, so the table is built either way.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from dbt.adapters.events.logging import AdapterLogger

__all__ = ["resolve_function", "run_engine"]

logger = AdapterLogger("Spark")


def resolve_function(path: str) -> Any:
    """The callable at ``package.module.function``, with a one-line error when it is not."""
    module_name, _, name = path.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"python_engine function {path!r} not found: {error}") from None
    if not callable(function):
        raise ValueError(f"python_engine function {path!r} is not callable")
    return function


def run_engine(
    spark: Any,
    *,
    model: str,
    engine: str,
    function: str,
    tables: Mapping[str, str],
    arguments: Mapping[str, Any],
    sql: str,
) -> Any:
    """Build ``model`` with ``function``; its compiled ``sql`` when the function declines."""
    call = resolve_function(function)
    kwargs: dict[str, Any] = {name: spark.table(table) for name, table in tables.items()}
    kwargs.update(arguments)
    if "session" in inspect.signature(call).parameters:
        kwargs["session"] = spark
    result = call(**kwargs)
    if result is None:
        logger.info(f"{model}: the {engine} engine declined (above); running the SQL definition")
        return spark.sql(sql)
    return result
