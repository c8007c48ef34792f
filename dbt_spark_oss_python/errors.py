"""One line for a failed Spark statement: the cause, without JVM stack frames or plans.

dbt prints an adapter error under the failing node (``Runtime Error in model <name>``). A Spark
error's text is long: pyspark's ``JVM stacktrace:`` section, Java frames, the logical plan
after an analysis error, or a Thrift server's ``HiveSQLException`` wrapping of all that.
Its first line says what went wrong (``[ERROR_CLASS] message SQLSTATE: ...``); the rest stays
in ``logs/dbt.log`` (dbt-spark logs the whole error at debug level) and in Spark's own log.
"""

from __future__ import annotations

import re

__all__ = ["spark_error_line"]

_JAVA_FRAME = re.compile(r"^\s*(at [\w$.<>/]+\(.*\)|\.\.\. \d+ more)\s*$")
# Wrappers a Thrift server or py4j puts before the cause: Java exception class names
# ("org.apache.hive.service.cli.HiveSQLException: ") and Hive's "Error running query: ".
# The heading dbt puts before a message when an exception is turned into text ("Runtime
# Error\n  <message>"), which dbt-spark does when it wraps an error in another.
_DBT_HEADING = re.compile(r"^(Runtime|Database|Compilation) Error( in .*)?$")
_PREFIX = re.compile(
    r"^((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error): |Error running query: )"
)
# py4j's own line before a Java error it passes through untranslated ("An error occurred
# while calling o47.sql."), and the ": " it puts before the Java error's first line.
_PY4J_CALL = re.compile(r"^An error occurred while calling [\w.$]+\.?$")
# A failed job's line ends with the task's error: "Job aborted due to stage failure: Task 0
# in stage 36.0 failed 1 times, most recent failure: Lost task ... : java.lang.
# OutOfMemoryError: GC overhead limit exceeded". The task's error is the cause.
_STAGE_FAILURE = "Job aborted due to stage failure"
_TASK_ERROR = re.compile(r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error): .*$")


def spark_error_line(text: str) -> str:
    """The first line of a Spark error that says something, wrappers removed.

    Parameters
    ----------
    text
        The error's text as the Spark session, Spark Connect or the Thrift server gives it.

    Returns
    -------
    str
        That line, or ``""`` when the text holds nothing but stack frames.
    """
    for line in text.split("JVM stacktrace:", 1)[0].splitlines():
        line = line.strip().removeprefix(": ").strip()
        if not line or _JAVA_FRAME.match(line) or _DBT_HEADING.match(line):
            continue
        if _PY4J_CALL.match(line):
            continue
        while match := _PREFIX.match(line):
            line = line[match.end() :].strip()
        if line.startswith(_STAGE_FAILURE) and (cause := _TASK_ERROR.search(line)):
            return f"{_STAGE_FAILURE}: {cause.group(0)} (the rest is in Spark's log)"
        if line:
            return line
    return ""
