"""Submission helpers that run dbt Python models on open-source Spark.

Two helpers are added next to dbt-spark's Databricks ones:

``session``
    Executes the compiled model code inside the dbt process against the SparkSession
    that dbt-spark's ``method: session`` connection uses (same ``server_side_parameters``,
    hence the same catalog and warehouse).
``spark_connect``
    Executes the compiled model code inside the dbt process against a Spark Connect
    server (``SparkSession.builder.remote(url)``), so DataFrame and ML work run on the
    cluster. One Connect session per model, released when the model ends.

``auto`` (the default submission method) picks one of them, see
:func:`resolve_submission_method`.
"""

from __future__ import annotations

import linecache
import os
import re
import socket
import threading
import traceback
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

logger = AdapterLogger("Spark")

AUTO = "auto"
SESSION = "session"
SPARK_CONNECT = "spark_connect"
DATABRICKS_DEFAULT = "all_purpose_cluster"

CONNECT_URL_ENV = "SPARK_CONNECT_URL"
CONNECT_URL_CONFIG = "spark_connect_url"
DEFAULT_CONNECT_PORT = 15002
CONNECT_PROBE_TIMEOUT_S = 5.0

_JAVA_FRAME = re.compile(r"^\s+(at [\w$.<>/]+\(.*\)|\.\.\. \d+ more)\s*$")
# Longest error text taken from an exception raised by the model (JVM messages can be huge).
MAX_ERROR_CHARS = 2000


class PythonModelError(DbtRuntimeError):
    """A dbt Python model failed while its code ran (message names the model)."""


def _model_name(parsed_model: Mapping[str, Any]) -> str:
    return str(parsed_model.get("name") or parsed_model.get("alias") or "<unknown>")


def _config(parsed_model: Mapping[str, Any]) -> Mapping[str, Any]:
    return parsed_model.get("config") or {}


def connect_url_for(
    parsed_model: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> str | None:
    """Return the Spark Connect URL for a model, or ``None`` when none is configured.

    The model config ``spark_connect_url`` wins over the ``SPARK_CONNECT_URL``
    environment variable; empty values count as unset.
    """
    environ = os.environ if environ is None else environ
    url = _config(parsed_model).get(CONNECT_URL_CONFIG) or environ.get(CONNECT_URL_ENV) or ""
    url = str(url).strip()
    return url or None


def _looks_like_databricks(parsed_model: Mapping[str, Any], credentials: Any) -> bool:
    """dbt-spark's own default (all_purpose_cluster) only makes sense on Databricks."""
    method = str(getattr(credentials, "method", "") or "")
    cluster_id = _config(parsed_model).get("cluster_id") or getattr(credentials, "cluster_id", None)
    token = getattr(credentials, "token", None)
    return method in {"http", "odbc"} and bool(cluster_id) and bool(token)


def resolve_submission_method(
    parsed_model: Mapping[str, Any],
    credentials: Any,
    target_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Choose how to run a Python model that did not set ``submission_method``.

    Rules, first match wins:

    1. target ``method: session`` -> ``session`` (the SQL already runs in-process);
    2. a Spark Connect URL (model config ``spark_connect_url`` or env ``SPARK_CONNECT_URL``)
       -> ``spark_connect``;
    3. Databricks credentials (``http``/``odbc`` with token and cluster) -> ``all_purpose_cluster``
       (dbt-spark's own default, unchanged);
    4. otherwise a one-line :class:`DbtRuntimeError` explaining how to fix it.

    Parameters
    ----------
    parsed_model
        The model node as dbt passes it to ``submit_python_job`` (``name``, ``config``, ...).
    credentials
        The target's ``SparkCredentials`` (only ``method``, ``cluster_id``, ``token`` are read).
    target_name
        Name of the dbt target, for the error message.
    environ
        Environment to read ``SPARK_CONNECT_URL`` from; default ``os.environ``.

    Returns
    -------
    str
        A key of the adapter's ``python_submission_helpers``.
    """
    method = str(getattr(credentials, "method", "") or "")
    if method == SESSION:
        return SESSION
    if connect_url_for(parsed_model, environ):
        return SPARK_CONNECT
    if _looks_like_databricks(parsed_model, credentials):
        return DATABRICKS_DEFAULT
    raise DbtRuntimeError(
        f"Python model '{_model_name(parsed_model)}' cannot run on target "
        f"'{target_name or '?'}' (method: {method or '?'}): no Spark Connect URL configured; "
        f"set {CONNECT_URL_ENV} (e.g. sc://localhost:15002) or the model config "
        f"'{CONNECT_URL_CONFIG}', or use a target with method: session."
    )


# --------------------------------------------------------------------------- running code


def _user_code(parsed_model: Mapping[str, Any], compiled_code: str) -> str:
    """Drop the whitespace Jinja puts before the model code so line numbers match the file."""
    raw_code = parsed_model.get("raw_code") or ""
    if raw_code:
        start = compiled_code.find(raw_code)
        if start > 0 and not compiled_code[:start].strip():
            return compiled_code[start:]
    return compiled_code


def _short_exception_text(exc: BaseException) -> str:
    """``Type: message`` without JVM stack frames, capped at :data:`MAX_ERROR_CHARS`."""
    text = str(exc).split("JVM stacktrace:", 1)[0]
    lines = [line for line in text.splitlines() if not _JAVA_FRAME.match(line)]
    text = "\n".join(lines).strip()
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + " ... (truncated)"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _user_traceback(exc: BaseException, filename: str) -> list[str]:
    """Traceback lines of the frames that belong to the model's (compiled) code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    # The module-level frame is the generated `df = model(dbt, spark)` line: keep it only
    # when the error happened there (e.g. an unsupported return type or a failed write).
    frames = [f for i, f in enumerate(frames) if f.name != "<module>" or i == len(frames) - 1]
    return [line.rstrip("\n") for line in traceback.format_list(frames)]


def execute_model_code(
    parsed_model: Mapping[str, Any], compiled_code: str, spark: Any, how: str
) -> None:
    """Execute compiled Python model code with ``spark`` bound, raising a readable dbt error.

    Parameters
    ----------
    parsed_model
        The model node (for its name and file path).
    compiled_code
        The code rendered by ``py_write_table``: model code, dbt helpers, write step.
    spark
        A classic or Spark Connect ``SparkSession``.
    how
        Submission method name, used in messages.

    Raises
    ------
    PythonModelError
        When the model code raises; the message names the model and carries the Python
        exception text plus the model-code traceback lines (never a bare Java stack trace).
    """
    name = _model_name(parsed_model)
    filename = str(parsed_model.get("original_file_path") or f"<dbt python model {name}>")
    code = _user_code(parsed_model, compiled_code)
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {
        "__name__": f"dbt_python_model_{name}",
        "__file__": filename,
        "spark": spark,
    }
    try:
        exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - running dbt models is the job
    except Exception as exc:
        lines = [f"Python model '{name}' failed ({how}): {_short_exception_text(exc)}"]
        user_tb = _user_traceback(exc, filename)
        if user_tb:
            lines.append("Traceback (model code, most recent call last):")
            lines.extend(user_tb)
        raise PythonModelError("\n".join(lines)) from None
    finally:
        linecache.cache.pop(filename, None)


# --------------------------------------------------------------------------- helpers


class SessionPythonJobHelper(PythonJobHelper):
    """Run the model in-process on the dbt ``method: session`` SparkSession."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials
        method = str(getattr(credentials, "method", "") or "")
        if method != SESSION:
            # A local session here would have its own catalog, not the target's.
            raise DbtRuntimeError(
                f"Python model '{_model_name(parsed_model)}': submission_method session needs "
                f"a target with method: session (this target uses method: {method or '?'}); "
                f"use spark_connect with {CONNECT_URL_ENV} instead."
            )

    def _spark(self) -> Any:
        from pyspark.sql import SparkSession

        spark = SparkSession._instantiatedSession
        if spark is None or spark._sc._jsc is None:
            spark = self._build_session()
        # Active sessions are per thread and dbt runs models in worker threads: make this
        # session the active one here so SparkSession.getActiveSession() works in models.
        try:
            jvm_session_class = SparkSession._get_j_spark_session_class(spark._jvm)
            jvm_session_class.setActiveSession(spark._jsparkSession)
        except Exception as exc:  # best effort: getActiveSession() is a convenience only
            logger.debug(f"Could not set the active Spark session for this thread: {exc}")
        return spark

    def _build_session(self) -> Any:
        from pyspark.sql import SparkSession

        # Exactly what dbt/adapters/spark/session.py does, so both share one session. (The
        # dbt connection has normally built it already; then it is reused as is, since
        # dbt's cursor re-applies the runtime settings on every statement anyway.)
        builder = SparkSession.builder.enableHiveSupport()
        params = getattr(self.credentials, "server_side_parameters", None) or {}
        for key, value in params.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()

    def submit(self, compiled_code: str) -> None:
        name = _model_name(self.parsed_model)
        logger.debug(f"Running Python model {name} in-process (submission_method: session)")
        try:
            spark = self._spark()
        except Exception as exc:
            raise DbtRuntimeError(
                f"Python model '{name}': could not get the local Spark session: "
                f"{_short_exception_text(exc)}"
            ) from None
        execute_model_code(self.parsed_model, compiled_code, spark, SESSION)


def _connect_endpoint(url: str) -> tuple[str, int]:
    """Host and port of an ``sc://host:port/;params`` URL."""
    parsed = urlparse("http://" + url[len("sc://") :].split(";", 1)[0])
    return parsed.hostname or "localhost", parsed.port or DEFAULT_CONNECT_PORT


_connect_mode_lock = threading.Lock()


class SparkConnectPythonJobHelper(PythonJobHelper):
    """Run the model in the dbt process against a Spark Connect server."""

    def __init__(self, parsed_model: dict, credentials: Any) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials
        name = _model_name(parsed_model)
        url = connect_url_for(parsed_model)
        if url is None:
            raise DbtRuntimeError(
                f"Python model '{name}': submission_method spark_connect needs a Spark Connect "
                f"URL; set {CONNECT_URL_ENV} (e.g. sc://localhost:15002) or the model config "
                f"'{CONNECT_URL_CONFIG}'."
            )
        if not url.startswith("sc://"):
            raise DbtRuntimeError(
                f"Python model '{name}': Spark Connect URL {url!r} must start with sc:// "
                "(e.g. sc://localhost:15002)."
            )
        self.url = url

    def _check_no_local_spark(self, name: str) -> None:
        from pyspark.core.context import SparkContext

        if SparkContext._active_spark_context is not None:
            raise DbtRuntimeError(
                f"Python model '{name}': submission_method spark_connect cannot run in a dbt "
                "process that also hosts a local Spark session (target method: session); use "
                "submission_method session there, or a thrift target with "
                f"{CONNECT_URL_ENV} for Spark Connect."
            )

    def _probe(self, name: str) -> None:
        """Fail fast (one line) when nothing listens, instead of minutes of gRPC retries."""
        host, port = _connect_endpoint(self.url)
        try:
            with socket.create_connection((host, port), timeout=CONNECT_PROBE_TIMEOUT_S):
                pass
        except OSError as exc:
            raise DbtRuntimeError(
                f"Python model '{name}': cannot reach the Spark Connect server at {self.url} "
                f"({exc.strerror or exc}); start it or fix {CONNECT_URL_ENV} / "
                f"'{CONNECT_URL_CONFIG}'."
            ) from None

    def submit(self, compiled_code: str) -> None:
        name = _model_name(self.parsed_model)
        self._check_no_local_spark(name)
        self._probe(name)
        logger.debug(f"Running Python model {name} on Spark Connect {self.url}")
        from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

        with _connect_mode_lock:
            # What SparkSession.builder.remote(...).getOrCreate() sets: makes
            # pyspark.sql.functions and pyspark.ml dispatch to their Spark Connect versions.
            os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
        try:
            # One session per model (not the process-wide default), so concurrent dbt
            # threads never stop each other's session.
            spark = RemoteSparkSession.builder.remote(self.url).create()
        except Exception as exc:
            raise DbtRuntimeError(
                f"Python model '{name}': could not open a Spark Connect session at {self.url}: "
                f"{_short_exception_text(exc)}"
            ) from None
        try:
            execute_model_code(self.parsed_model, compiled_code, spark, SPARK_CONNECT)
        finally:
            try:
                spark.stop()  # releases the server-side session and closes the gRPC channel
            except Exception as exc:
                logger.debug(f"Stopping the Spark Connect session of {name} failed: {exc}")


def make_auto_helper(
    target_name: str | None, helpers: Mapping[str, type[PythonJobHelper]]
) -> type[PythonJobHelper]:
    """Build the ``auto`` helper class for one target.

    Parameters
    ----------
    target_name
        Name of the dbt target (for error messages).
    helpers
        All submission helpers by name, to delegate to.
    """

    class AutoPythonJobHelper(PythonJobHelper):
        """Delegate to the helper chosen by :func:`resolve_submission_method`."""

        def __init__(self, parsed_model: dict, credentials: Any) -> None:
            method = resolve_submission_method(parsed_model, credentials, target_name)
            self.helper = helpers[method](parsed_model, credentials)

        def submit(self, compiled_code: str) -> Any:
            return self.helper.submit(compiled_code)

    return AutoPythonJobHelper
