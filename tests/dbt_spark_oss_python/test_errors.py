"""A failed Spark statement is reported by its cause, in one line."""

from __future__ import annotations

import pytest

from dbt_spark_oss_python.errors import spark_error_line

THRIFT = (
    "org.apache.hive.service.cli.HiveSQLException: Error running query: "
    "org.apache.spark.SparkRuntimeException: [USER_RAISED_EXCEPTION] boom SQLSTATE: P0001\n"
    "\tat org.apache.spark.sql.hive.thriftserver.SparkExecuteStatementOperation.run(X.scala:1)\n"
    "\t... 12 more\n"
)
ANALYSIS = (
    "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. SQLSTATE: 42P01; "
    "line 1 pos 14;\n'Project [*]\n+- 'UnresolvedRelation [nope], [], false\n"
)
PYSPARK = "[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012\n\nJVM stacktrace:\norg.apache..."
# What a session build printed when a task ran out of heap (a Py4JJavaError: py4j's line,
# then the Java error after ": ").
OUT_OF_HEAP = (
    "An error occurred while calling o47.sql.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage "
    "36.0 failed 1 times, most recent failure: Lost task 0.0 in stage 36.0 (TID 34) "
    "(localhost executor driver): java.lang.OutOfMemoryError: GC overhead limit exceeded\n"
    "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\n"
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (THRIFT, "[USER_RAISED_EXCEPTION] boom SQLSTATE: P0001"),
        (ANALYSIS, ANALYSIS.splitlines()[0]),
        (PYSPARK, "[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012"),
        # dbt-spark wraps a dbt error in another: dbt's heading is not the cause.
        ("Runtime Error\n  The Hive metastore x is in use", "The Hive metastore x is in use"),
        ("\tat a.b.C.d(C.java:1)\n\n", ""),
        (
            OUT_OF_HEAP,
            "Job aborted due to stage failure: java.lang.OutOfMemoryError: GC overhead limit "
            "exceeded (the rest is in Spark's log)",
        ),
    ],
    ids=["thrift", "analysis", "pyspark", "dbt-heading", "frames-only", "out-of-heap"],
)
def test_spark_error_line(text: str, line: str) -> None:
    assert spark_error_line(text) == line
