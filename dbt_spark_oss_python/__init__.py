"""dbt plugin: run dbt Python models on open-source Spark (session and Spark Connect).

dbt-spark 1.11 submits Python models only through Databricks APIs. This package adds
open-source ways to run them, so plain ``dbt run`` / ``dbt build`` work on any Spark.

How it is loaded
----------------
dbt-core imports every installed top-level module whose name starts with ``dbt_`` and
instantiates the ``dbtPlugin`` classes listed in its ``plugins`` attribute (see
``dbt/plugins/manager.py``). :class:`~dbt_spark_oss_python.plugin.SparkOssPythonPlugin`
then registers extra submission helpers on dbt-spark's ``SparkAdapter``. Nothing to add
to ``dbt_project.yml``; the package only has to be visible to ``pkgutil.iter_modules()``,
which a plain ``pip install .`` or ``pip install -e . --config-settings
editable_mode=compat`` gives, but setuptools' default (strict) editable install does
NOT (its import hook is invisible to ``pkgutil``). Alternatively put the repository root
on ``PYTHONPATH``. Programmatic users can call :func:`install` themselves.

Submission methods (model config ``submission_method``)
------------------------------------------------------
``session``
    Runs the compiled model code inside the dbt process on the SparkSession of a
    ``method: session`` target, built exactly as dbt-spark does (``enableHiveSupport()`` plus
    the target's ``server_side_parameters``), so models see the same catalog/warehouse.
    Refused (one line) on non-session targets, where a local session would have its own
    catalog.
``spark_connect``
    Runs the compiled model code inside the dbt process against
    ``SparkSession.builder.remote(url)``: every DataFrame / ``pyspark.ml`` operation runs on
    the cluster. URL from model config ``spark_connect_url`` or env ``SPARK_CONNECT_URL``
    (e.g. ``sc://localhost:15002``). Each model gets its own Connect session, stopped
    (released on the server) when the model ends, so dbt exits promptly. Needs a
    non-session target for the SQL side (e.g. ``method: thrift`` on the same cluster): a
    local classic Spark session and Spark Connect cannot share one Python process.
``auto`` (the default)
    ``session`` on ``method: session`` targets; else ``spark_connect`` when a Connect URL is
    configured; else dbt-spark's ``all_purpose_cluster`` on Databricks credentials; else
    the model fails with one line naming the model, the target and the fix (set
    ``SPARK_CONNECT_URL``).
``job_cluster`` / ``all_purpose_cluster``
    dbt-spark's Databricks helpers, unchanged.

Examples::

    export SPARK_CONNECT_URL=sc://localhost:15002     # thrift target + Connect
    dbt build --target cluster

    # models/my_model.py
    def model(dbt, spark):
        dbt.config(materialized="table", submission_method="session")
        ...

Writing the table
-----------------
The project's ``macros/python_models.sql`` overrides dbt-spark's ``py_write_table`` (root
project macros win over the adapter's): the returned Spark or pandas DataFrame is written by
:func:`dbt_spark_oss_python.tables.write_table`, which registers the table, empty, with the
DataFrame's columns and then fills it with ``INSERT OVERWRITE``, in the model's
``file_format`` (default ``parquet``), ``partition_by`` and ``options`` (the data source
options, as dbt-spark gives a SQL model's). The project's table
materialization (``macros/atomic_table.sql``) has it write a staging table and swaps that
in only once the write succeeded.

A model may instead return an object whose type has ``to_spark()`` (its DataFrame) and
``write_files(directory, file_format, options)``: on a session with a ``local`` master and a
``file:`` warehouse, ``write_table`` has it write the rows as the empty table's files (Spark's
Python workers writing with pyarrow, no conversion to Spark's rows), and Spark writes
``to_spark()`` everywhere else or when ``write_files`` declines the format or an option.

Incremental Python models go through the same ``py_write_table`` (dbt-spark writes a temp
table with it) but are not covered by the tests.

Errors
------
An exception raised by model code fails the node with ``Python model '<name>' failed
(<method>): <Type>: <message>`` followed by the model-code traceback lines; Java stack frames
are stripped from Spark errors. A failed SQL statement (session or Thrift) fails its node with
the cause in one line (``errors.py``). On a ``method: session`` target whose metastore is an
embedded Derby database, the first dbt process to open a connection holds
``<database>.lock`` until it ends, and a second one fails at once saying so
(``metastore.py``).
"""

from dbt_spark_oss_python.plugin import SparkOssPythonPlugin, install
from dbt_spark_oss_python.submission import resolve_submission_method

plugins = [SparkOssPythonPlugin]

__all__ = ["SparkOssPythonPlugin", "install", "plugins", "resolve_submission_method"]
