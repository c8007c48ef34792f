"""Spark jobs behind the dbt Python models: pure, tested functions over DataFrames."""
