"""The one place that builds a SparkSession for the Python jobs and their tests.

dbt's ``local`` target builds its own session from ``profiles/profiles.yml``
(dbt-spark ``method: session``); the settings below mirror that profile.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

LOG4J_CONFIG = Path(__file__).resolve().parent.parent / "profiles" / "log4j2.properties"


def build_spark_session(
    *,
    app_name: str = "movielens",
    master: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    warehouse_dir: str | os.PathLike[str] | None = None,
    enable_hive: bool = False,
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Build (or get) a SparkSession sized for a small machine.

    Parameters
    ----------
    app_name
        Spark application name.
    master
        Spark master URL; default ``local[N]`` with ``SPARK_LOCAL_CORES`` cores
        (all cores when unset). Ignored when the session already exists (e.g. under
        ``spark-submit``, which sets the master itself).
    shuffle_partitions
        ``spark.sql.shuffle.partitions``; default ``SPARK_SHUFFLE_PARTITIONS`` or 8.
    driver_memory
        ``spark.driver.memory``; default ``SPARK_DRIVER_MEMORY`` or ``4g``.
    warehouse_dir
        ``spark.sql.warehouse.dir``; when given with ``enable_hive`` the embedded
        Derby metastore lives beside it.
    enable_hive
        Use the Hive catalog (persistent tables) instead of the in-memory one.
    extra_conf
        Any further Spark settings.
    """
    # Native BLAS (OpenBLAS) must not start its own threads inside Spark's task threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    cores = os.environ.get("SPARK_LOCAL_CORES", "*")
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master or f"local[{cores}]")
        .config(
            "spark.sql.shuffle.partitions",
            str(shuffle_partitions or os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8")),
        )
        .config("spark.driver.memory", driver_memory or os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if LOG4J_CONFIG.exists():
        builder = builder.config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J_CONFIG}"
        )
    if warehouse_dir is not None:
        warehouse = Path(warehouse_dir).resolve()
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse))
        if enable_hive:
            builder = builder.config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={warehouse.parent / 'metastore_db'};create=true",
            )
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    if enable_hive:
        builder = builder.enableHiveSupport()
    return builder.getOrCreate()
