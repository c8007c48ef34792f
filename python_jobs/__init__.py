"""Spark jobs behind the dbt Python models: pure, tested functions over DataFrames.

The top-level modules are the library the dbt Python models import (the session, column
names, splitting, metrics, recommenders and their tuning). Two subpackages stand apart and
are never imported by it: ``python_jobs.datasets`` (the MovieLens layouts and the data
generator) and ``python_jobs.tools`` (the local cluster and the driver's class-data archive).
"""
