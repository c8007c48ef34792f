"""How a dbt Python model's DataFrame becomes a table (called by ``macros/python_models.sql``).

The table is registered in the metastore, empty, before any data is written, then filled with
``INSERT OVERWRITE``: a write that fails or whose process is killed leaves a registered table
that the next run drops with its files, never a directory nobody references. The project's
table materialization (``macros/atomic_table.sql``) passes a fresh staging name here and swaps
the table in only after this returned.

A model may also return an object that writes its own files (:func:`write_table` says when):
its ``write_files(directory, file_format, options)`` has Spark's Python workers write the
rows as files of the empty table, where Spark would convert every Arrow row to its own rows
and encode them again (python_jobs/pair_products.py's ``BlockedPairs``, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = [
    "create_table_sql",
    "ddl_type",
    "local_table_directory",
    "write_table",
    "writes_own_files",
]


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def ddl_type(data_type: Any) -> str:
    """Spark SQL DDL for a ``pyspark.sql.types`` type, struct field names quoted."""
    from pyspark.sql.types import ArrayType, MapType, StructType

    if isinstance(data_type, StructType):
        fields = ",".join(f"{_quote(f.name)}:{ddl_type(f.dataType)}" for f in data_type.fields)
        return f"struct<{fields}>"
    if isinstance(data_type, ArrayType):
        return f"array<{ddl_type(data_type.elementType)}>"
    if isinstance(data_type, MapType):
        return f"map<{ddl_type(data_type.keyType)},{ddl_type(data_type.valueType)}>"
    return data_type.simpleString()


def _ordered_names(schema: Any, partition_by: Sequence[str]) -> list[str]:
    """Column names in the order Spark stores a partitioned table: partition columns last."""
    names = [field.name for field in schema.fields]
    missing = [name for name in partition_by if name not in names]
    if missing:
        raise ValueError(f"partition_by names columns the model does not return: {missing}")
    return [n for n in names if n not in partition_by] + list(partition_by)


def _string_literal(value: Any) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_table_sql(
    table: str,
    schema: Any,
    file_format: str = "parquet",
    partition_by: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
) -> str:
    """``CREATE TABLE`` for an empty managed table with ``schema``'s columns; ``options``
    become its data source options (``compression``, for one), as dbt-spark writes a SQL
    model's ``options`` config."""
    columns = ", ".join(f"{_quote(f.name)} {ddl_type(f.dataType)}" for f in schema.fields)
    sql = f"create table {table} ({columns}) using {file_format}"
    if options:
        pairs = ", ".join(
            f"{_quote(key)} {_string_literal(value)}" for key, value in options.items()
        )
        sql += f" options ({pairs})"
    if partition_by:
        sql += " partitioned by (" + ", ".join(_quote(name) for name in partition_by) + ")"
    return sql


def writes_own_files(df: Any) -> bool:
    """Whether a model's result can write the table's files itself (``write_files``, see
    :func:`write_table`). Asked of its type: a DataFrame's attributes include its columns,
    and a Spark Connect DataFrame answers any name with a Column."""
    return callable(getattr(type(df), "write_files", None))


def local_table_directory(spark: Any, table: str) -> str | None:
    """The directory of ``table`` when the Python workers of ``spark`` can write into it: a
    classic session with a ``local`` master and a ``file:`` location; else None (Spark
    Connect, a cluster's workers, object stores)."""
    try:
        master = spark.sparkContext.master
    except Exception:  # Spark Connect sessions have no SparkContext
        return None
    if not str(master).startswith("local"):
        return None
    rows = spark.sql(f"describe table extended {table}").where("col_name = 'Location'").collect()
    location = urlparse(rows[0][1]) if rows else None
    if location is None or location.scheme != "file":
        return None
    return unquote(location.path)


def write_table(
    spark: Any,
    df: Any,
    table: str,
    file_format: str = "parquet",
    partition_by: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
) -> None:
    """Write ``df`` as the new managed table ``table``: registered empty, then filled.

    Parameters
    ----------
    spark
        A classic or Spark Connect ``SparkSession``.
    df
        The model's Spark DataFrame, or an object with ``to_spark()`` (that DataFrame) and
        ``write_files(directory, file_format, options)``. The latter writes the rows into
        the empty, unpartitioned table's directory when :func:`local_table_directory` finds
        one, and returns False, having written nothing, for a format or option it cannot
        write; otherwise Spark writes ``to_spark()``.
    table
        Qualified table name; an existing table of that name is dropped first.
    file_format
        Data source of the table (``parquet``, ``orc``, ...).
    partition_by
        Partition columns, in order.
    options
        Data source options of the table (the model's ``options`` config).
    """
    partition_by = list(partition_by)
    ordered = _ordered_names(df.schema, partition_by)
    spark.sql(f"drop table if exists {table}")
    spark.sql(create_table_sql(table, df.schema, file_format, partition_by, options))
    if writes_own_files(df):
        directory = None if partition_by else local_table_directory(spark, table)
        if directory is not None and df.write_files(directory, file_format, dict(options or {})):
            spark.sql(f"refresh table {table}")
            return
        df = df.to_spark()
    df.select(*ordered).write.insertInto(table, overwrite=True)
