"""dbt-core plugin that registers the open-source submission helpers on dbt-spark."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbt.plugins.manager import dbtPlugin

from dbt_spark_oss_python.errors import spark_error_line
from dbt_spark_oss_python.jit import USER_OPTIONS_ENV, full_jit_for_large_input
from dbt_spark_oss_python.metastore import lock_embedded_metastore
from dbt_spark_oss_python.submission import (
    AUTO,
    SESSION,
    SPARK_CONNECT,
    SessionPythonJobHelper,
    SparkConnectPythonJobHelper,
    make_auto_helper,
)

_MARKER = "_dbt_spark_oss_python_installed"


def install() -> None:
    """Add ``session``, ``spark_connect`` and ``auto`` to dbt-spark's submission helpers.

    dbt-core has no hook for adapter submission helpers: ``SparkAdapter`` hard-codes them in
    the ``python_submission_helpers`` / ``default_python_submission_method`` properties, so
    both are wrapped here. The Databricks helpers stay available under their names.
    Idempotent.
    """
    from dbt.adapters.spark.impl import SparkAdapter

    if getattr(SparkAdapter, _MARKER, False):
        return
    original_helpers = SparkAdapter.python_submission_helpers

    def python_submission_helpers(self: Any) -> dict[str, Any]:
        helpers = dict(original_helpers.fget(self))
        helpers[SESSION] = SessionPythonJobHelper
        helpers[SPARK_CONNECT] = SparkConnectPythonJobHelper
        target_name = getattr(getattr(self, "config", None), "target_name", None)
        helpers[AUTO] = make_auto_helper(target_name, dict(helpers))
        return helpers

    def default_python_submission_method(self: Any) -> str:
        return AUTO

    SparkAdapter.python_submission_helpers = property(python_submission_helpers)
    SparkAdapter.default_python_submission_method = property(default_python_submission_method)
    _expose_connection_method()
    _bind_local_drivers_when_opening()
    _one_line_query_errors()
    _count_rows_for_catalog()
    _quiet_pyspark_error_logging()
    _forward_python_jobs_logging()
    # Spark ML's native BLAS (Debian's OpenBLAS) must not start its own threads inside
    # Spark's task threads (Spark's MLlib guide); the in-process JVM inherits this.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Python workers (if Spark starts any) run this environment's interpreter, not whatever
    # `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    setattr(SparkAdapter, _MARKER, True)


def _quiet_pyspark_error_logging() -> None:
    """Stop pyspark 4 from dumping a JSON record with the Java stack trace on every error.

    pyspark logs each captured SQL/DataFrame exception to the loggers below, whose handler
    writes the whole JVM stack trace as JSON to the console. dbt already reports the
    error's message for the failing node; the dump only buries it.
    """
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


class _ToDbtLog(logging.Handler):
    """Hands a record to dbt's adapter logger: the console and ``logs/dbt.log``."""

    def emit(self, record: logging.LogRecord) -> None:
        from dbt.adapters.events.logging import AdapterLogger

        logger = AdapterLogger("Spark")
        message = self.format(record)
        if record.levelno >= logging.WARNING:
            logger.warning(message)
        else:
            logger.info(message)


def _forward_python_jobs_logging() -> None:
    """Let the project's library (``python_jobs``) speak through dbt's log.

    Its engines log why they run or decline (``dbt_spark_oss_python.engines``) on the
    ``python_jobs`` logger; under dbt, those lines belong beside dbt's own, on the console
    and in ``logs/dbt.log``, not on stderr through the root logger.
    """
    library = logging.getLogger("python_jobs")
    if not any(isinstance(handler, _ToDbtLog) for handler in library.handlers):
        library.addHandler(_ToDbtLog())
    library.setLevel(logging.INFO)
    library.propagate = False


def _expose_connection_method() -> None:
    """Make ``target.method`` (session, thrift, ...) visible to macros and ``dbt debug``.

    dbt-spark leaves ``method`` out of its connection keys, so Jinja cannot tell an
    in-process session from a remote server; the project's seed loader needs to.
    """
    from dbt.adapters.spark.connections import SparkCredentials

    original_keys = SparkCredentials._connection_keys

    def _connection_keys(self: Any) -> tuple[str, ...]:
        return (*original_keys(self), "method")

    SparkCredentials._connection_keys = _connection_keys


LOOPBACK = "127.0.0.1"


def bind_local_driver_to_loopback(credentials: Any) -> bool:
    """Let a ``method: session`` target with a ``local`` master bind its driver to 127.0.0.1.

    Without ``SPARK_LOCAL_IP``, Spark looks the host name up and, where it resolves to a
    loopback address (as Debian's default ``/etc/hosts`` makes it), binds the driver to the
    first other interface and warns about it on every dbt command. A local-mode driver has
    no executors elsewhere that must reach it, so loopback is both quiet and the right
    address: its ports stay off the network. A ``SPARK_LOCAL_IP`` set by the user wins;
    remote masters and non-session targets are left alone. Returns whether it applies.
    """
    if str(getattr(credentials, "method", "")) != SESSION:
        return False
    params = getattr(credentials, "server_side_parameters", None) or {}
    if not str(params.get("spark.master", "local[*]")).startswith("local"):
        return False
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    return True


def _full_jit_for_large_input(credentials: Any) -> None:
    from dbt.adapters.events.logging import AdapterLogger
    from dbt.flags import get_flags

    params = getattr(credentials, "server_side_parameters", None)
    if params is None:
        return
    cli_vars = getattr(get_flags(), "VARS", None) or {}
    size = full_jit_for_large_input(params, cli_vars, os.environ)
    if size is not None:
        AdapterLogger("Spark").info(
            f"{size / 1e6:.0f} MB of ratings: the driver JVM runs the full JIT (its optimizing "
            "compiler kept to per-row code) and the parallel GC "
            f"(set {USER_OPTIONS_ENV} to choose its options yourself)"
        )


def _bind_local_drivers_when_opening() -> None:
    """Prepare a session target's driver whenever dbt-spark opens a connection.

    dbt-spark starts a session target's JVM at the first statement on a connection, so its
    ``open`` is where the driver's environment must be right, whatever ran dbt: bound to
    loopback (:func:`bind_local_driver_to_loopback`), with the full JIT on a large input
    (:mod:`~dbt_spark_oss_python.jit`), and sole user of its embedded Derby
    metastore (:func:`~dbt_spark_oss_python.metastore.lock_embedded_metastore`), so that a
    second dbt command on the same metastore fails at once with one line instead of deep in
    Hive's metastore client.
    """
    from dbt.adapters.spark.connections import SparkConnectionManager

    original_open = SparkConnectionManager.open.__func__

    def open_(cls: Any, connection: Any) -> Any:
        credentials = connection.credentials
        if bind_local_driver_to_loopback(credentials):
            _full_jit_for_large_input(credentials)
        if str(getattr(credentials, "method", "")) == SESSION:
            lock_embedded_metastore(getattr(credentials, "server_side_parameters", None) or {})
        return original_open(cls, connection)

    SparkConnectionManager.open = classmethod(open_)


def _one_line_query_errors() -> None:
    """A failed statement fails its node with the cause in one line (``errors.py``).

    dbt-spark's ``exception_handler`` passes a pyspark error through as it is (dbt then
    reports an "Unhandled error" naming the compiled file) and a Thrift server's error with
    its Java stack; both become a ``DbtRuntimeError`` of the first meaningful line, which
    dbt prints under ``Runtime Error in model <name>``. dbt-spark has logged the whole error
    to ``logs/dbt.log`` already.
    """
    from dbt.adapters.spark.connections import SparkConnectionManager
    from dbt_common.exceptions import DbtRuntimeError

    original_handler = SparkConnectionManager.exception_handler

    @contextmanager
    def exception_handler(self: Any, sql: str) -> Iterator[None]:
        try:
            with original_handler(self, sql):
                yield
        except Exception as exc:
            text = str(getattr(exc, "msg", None) or exc)
            line = spark_error_line(text) or type(exc).__name__
            if isinstance(exc, DbtRuntimeError) and line == text.strip():
                raise
            raise DbtRuntimeError(line) from exc

    SparkConnectionManager.exception_handler = exception_handler


ROWS_COUNTED = "Rows counted by dbt docs generate (the metastore keeps no row count)."


def catalog_rows_unknown(columns: list[dict[str, Any]]) -> bool:
    """Whether a table's catalog entries lack a real row count.

    Spark's Hive metastore counts no rows until an ``ANALYZE TABLE`` runs. For a table
    written with CREATE TABLE AS SELECT or ``saveAsTable`` it reports ``Statistics: <n>
    bytes, 0 rows`` (a placeholder Spark ignores when planning, SPARK-22626: a 0 next to a
    non-zero size is not a count); for a table filled by INSERT OVERWRITE, as this
    project's table materialization (``macros/atomic_table.sql``) fills them, no statistics
    at all.
    """
    if not columns:
        return False
    stats = columns[0]
    rows = stats.get("stats:rows:value")
    return rows is None or (rows == 0 and (stats.get("stats:bytes:value") or 0) > 0)


def _count_rows_for_catalog() -> None:
    """Put each table's real row count in ``catalog.json`` instead of the placeholder 0.

    dbt-spark copies Spark's statistics into the catalog, so the docs site showed "rows 0"
    for every table. Where the count is the placeholder (:func:`catalog_rows_unknown`),
    ``dbt docs generate`` counts the rows (parquet answers ``count(*)`` from file footers);
    if the count fails, the rows statistic is left out rather than shown as 0.
    """
    from dbt.adapters.events.logging import AdapterLogger
    from dbt.adapters.spark.impl import SparkAdapter
    from dbt_common.exceptions import DbtRuntimeError

    logger = AdapterLogger("Spark")
    original = SparkAdapter._get_columns_for_catalog

    def _get_columns_for_catalog(self: Any, relation: Any) -> Any:
        columns = list(original(self, relation))
        if relation.is_table and catalog_rows_unknown(columns):
            counted: dict[str, Any]
            try:
                _, table = self.execute(f"select count(*) from {relation}", fetch=True)
                counted = {
                    "stats:rows:label": "rows",
                    "stats:rows:value": int(table[0][0]),
                    "stats:rows:include": True,
                    "stats:rows:description": ROWS_COUNTED,
                }
            except DbtRuntimeError as error:
                logger.debug(f"Could not count the rows of {relation}: {error}")
                counted = {"stats:rows:include": False}
            for column in columns:
                column.update(counted)
        yield from columns

    SparkAdapter._get_columns_for_catalog = _get_columns_for_catalog


class SparkOssPythonPlugin(dbtPlugin):
    """Loaded by dbt-core from the ``plugins`` list of this package on every command."""

    def initialize(self) -> None:
        install()
