"""The Spark driver's class-data-sharing archive: seconds off the start of every Spark JVM.

Every ``dbt`` invocation on the ``local`` target, and every Python job here, starts a
Spark driver JVM that loads and verifies some 20,000 classes (Spark SQL, the Hive
metastore client, DataNucleus, Derby, Parquet, Janino, Spark ML) before it does any work.
Java's application class-data sharing (AppCDS) maps them, already parsed, from an
archive instead. ``python -m python_jobs.tools.jvm_archive`` runs a small workload that touches
what a build touches (Hive catalog, CSV tables, views, joins, windows, parquet writes, an
ALS fit) in a JVM that dumps the classes it loaded when it exits; ``make setup`` runs it.
The ``local`` profile and :func:`python_jobs.spark.build_spark_session` then start the
driver with ``-XX:SharedArchiveFile``.

The archive is specific to this JDK and to the jars of the installed pyspark: regenerate
it after upgrading either (``make setup`` does, because it follows the virtualenv). A
missing or stale archive is ignored by the JVM, silently (the options switch its CDS
warnings off): nothing breaks, the start is only slower.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from python_jobs.spark import build_spark_session, jvm_archive_path


def _workload(work: Path, dump: Path) -> None:
    """What a build does, in miniature: every class it loads goes into the archive."""
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.recommendation import ALS

    spark = build_spark_session(
        app_name="movielens-jvm-archive",
        warehouse_dir=work / "warehouse",
        enable_hive=True,
        shuffle_partitions=2,
        use_jvm_archive=False,
        extra_conf={"spark.ui.showConsoleProgress": "false"},
        java_options=f"-XX:ArchiveClassesAtExit={dump}",
    )
    spark.sparkContext.setLogLevel("ERROR")
    csv = work / "files" / "ratings.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text(
        "userId,movieId,rating,timestamp\n"
        + "".join(
            f"{user},{movie},{1 + (user * movie) % 9 / 2},{964982703 + user}\n"
            for user in range(1, 41)
            for movie in range(1, 31)
            if (user + movie) % 3
        )
    )
    statements = [
        "create schema if not exists archive_raw",
        f"create table if not exists archive_raw.files using binaryFile location '{csv.parent}'",
        "select path from archive_raw.files",
        "create table if not exists archive_raw.ratings_file (`userId` string, `movieId` string,"
        " `rating` string, `timestamp` string, `_corrupt_record` string) using csv options"
        " (header 'true', mode 'PERMISSIVE', columnNameOfCorruptRecord '_corrupt_record',"
        f" path '{csv}')",
        "show table extended in archive_raw like 'ratings*'",
        "create or replace view archive_raw.ratings comment 'archive' as"
        " select try_cast(trim(userId) as int) as user_id,"
        " try_cast(trim(movieId) as int) as movie_id,"
        " try_cast(trim(rating) as double) as rating,"
        " timestamp_seconds(try_cast(trim(timestamp) as bigint)) as rated_at, _corrupt_record"
        " from archive_raw.ratings_file",
        "create table archive_raw.validated using parquet as select * from ("
        " select *, row_number() over (partition by user_id, movie_id order by rated_at desc) as n"
        " from archive_raw.ratings) where n = 1",
        "create table archive_raw.pairs using parquet as"
        " with r as (select /*+ repartition(4, movie_id) */ * from archive_raw.validated)"
        " select /*+ broadcast(b) */ r.movie_id as m1, b.movie_id as m2, count(*) as n,"
        " sum(r.rating * b.rating) as xy, sum(r.rating * r.rating) as xx,"
        " sum(b.rating * b.rating) as yy from r join archive_raw.validated as b"
        " on r.user_id = b.user_id and r.movie_id < b.movie_id group by 1, 2",
        "select m1, m2, xy / (sqrt(xx) * sqrt(yy)) as score,"
        " row_number() over (partition by m1 order by xy desc) as rank"
        " from archive_raw.pairs left join archive_raw.validated on m1 = movie_id",
        "describe table extended archive_raw.pairs",
        "show tables in archive_raw",
        "drop view archive_raw.ratings",
    ]
    for statement in statements:
        spark.sql(statement).collect()
    ratings = spark.table("archive_raw.validated").cache()
    model = ALS(
        rank=4, maxIter=2, regParam=0.1, userCol="user_id", itemCol="movie_id",
        ratingCol="rating", coldStartStrategy="drop", seed=0, numUserBlocks=1, numItemBlocks=1,
    ).fit(ratings)  # fmt: skip
    RegressionEvaluator(labelCol="rating").evaluate(model.transform(ratings))
    model.recommendForAllUsers(3).toPandas()
    model.write().overwrite().save(str(work / "model"))
    spark.stop()


def build_archive(archive: Path) -> Path:
    """Run the workload in a fresh driver JVM and install the archive it dumps at exit."""
    from pyspark import SparkContext

    started = time.monotonic()
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jvm-archive-") as tmp:
        work = Path(tmp)
        print(f"jvm_archive: running the class-loading workload in {work}", flush=True)
        dump = archive.with_name(archive.name + ".partial")
        dump.unlink(missing_ok=True)
        _workload(work, dump)
        # The JVM dumps its classes when it exits: close its stdin (pyspark's gateway then
        # exits) and wait for the process.
        gateway = SparkContext._gateway
        process = getattr(gateway, "proc", None)
        if process is None:
            sys.exit("jvm_archive: the Spark driver JVM is not a child of this process")
        gateway.shutdown()
        process.stdin.close()
        process.wait(timeout=600)
        if not dump.exists():
            sys.exit(f"jvm_archive: the JVM wrote no archive (exit code {process.returncode})")
        os.replace(dump, archive)
    size_mb = archive.stat().st_size / 2**20
    print(
        f"jvm_archive: wrote {archive} ({size_mb:.0f} MiB) in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return archive


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = jvm_archive_path()
    parser.add_argument(
        "--archive", type=Path, default=default, help=f"default (the local profile's) {default}"
    )
    args = parser.parse_args(argv)
    build_archive(args.archive.resolve())


if __name__ == "__main__":
    main()
