"""How a Python model's DataFrame becomes a table: the DDL of the empty table it starts as."""

from __future__ import annotations

import pytest
from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    IntegerType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from dbt_spark_oss_python.tables import _ordered_names, create_table_sql, ddl_type

NESTED = StructType([StructField("a b", DoubleType())])
SCHEMA = StructType(
    [
        StructField("movie id", IntegerType()),
        StructField("genres", ArrayType(StringType())),
        StructField("scores", MapType(StringType(), NESTED)),
        StructField("grp", StringType()),
    ]
)


def test_ddl_type_quotes_nested_field_names() -> None:
    assert ddl_type(SCHEMA) == (
        "struct<`movie id`:int,`genres`:array<string>,"
        "`scores`:map<string,struct<`a b`:double>>,`grp`:string>"
    )


def test_create_table_sql_registers_an_empty_table_with_every_column() -> None:
    assert create_table_sql("s.t__dbt_new_1", SCHEMA, "orc", ["grp"]) == (
        "create table s.t__dbt_new_1 (`movie id` int, `genres` array<string>, "
        "`scores` map<string,struct<`a b`:double>>, `grp` string) using orc "
        "partitioned by (`grp`)"
    )
    assert create_table_sql("t", StructType([StructField("x", IntegerType())])) == (
        "create table t (`x` int) using parquet"
    )


def test_create_table_sql_gives_the_models_options_quoted() -> None:
    sql = create_table_sql(
        "t", StructType([StructField("x", IntegerType())]), "orc", (), {"compression": "snappy"}
    )
    assert sql == "create table t (`x` int) using orc options (`compression` 'snappy')"
    quoted = create_table_sql("t", SCHEMA, options={"note": "it's a \\ path"})
    assert quoted.endswith("options (`note` 'it\\'s a \\\\ path')")


def test_partition_columns_are_written_last_as_spark_stores_them() -> None:
    assert _ordered_names(SCHEMA, ["grp", "movie id"]) == ["genres", "scores", "grp", "movie id"]
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        _ordered_names(SCHEMA, ["nope"])
