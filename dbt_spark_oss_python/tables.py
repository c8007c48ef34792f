"""How a dbt Python model's DataFrame becomes a table (called by ``macros/python_models.sql``).

The table is registered in the metastore, empty, before any data is written, then filled with
``INSERT OVERWRITE``: a write that fails or whose process is killed leaves a registered table
that the next run drops with its files, never a directory nobody references. The project's
table materialization (``macros/atomic_table.sql``) passes a fresh staging name here and swaps
the table in only after this returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["create_table_sql", "ddl_type", "write_table"]


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
        The model's Spark DataFrame.
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
    df.select(*ordered).write.insertInto(table, overwrite=True)
