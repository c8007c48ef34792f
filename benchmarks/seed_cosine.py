"""The cosine seed's code, verbatim in its computation, as the speed baseline.

Source: "Building a Movie Recommendation System with Apache Spark on AWS EMR"
(shared/seeds/003_*.txt). Only the I/O differs: the seed read ``ratings.dat``
from S3 and called ``show()``; here it reads any MovieLens ratings file given on
the command line and writes ``similarities_filtered`` to parquet so that the
whole result is computed, as ``dbt build`` computes it.

Usage::

    python benchmarks/seed_cosine.py ../shared/data/ml-latest-small/ratings.csv OUT_DIR
"""

import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import col, count, sqrt
from pyspark.sql.functions import sum as sum_


def main(ratings_path: str, out_dir: str) -> None:
    started = time.time()
    spark = (
        SparkSession.builder.appName("seed-cosine")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    if ratings_path.endswith(".csv"):
        ratings = (
            spark.read.option("header", "true")
            .option("inferSchema", "true")
            .csv(ratings_path)
            .toDF("UserID", "MovieID", "Rating", "Timestamp")
        )
    else:
        ratings = (
            spark.read.option("delimiter", "::")
            .option("inferSchema", "true")
            .csv(ratings_path)
            .toDF("UserID", "MovieID", "Rating", "Timestamp")
        )
    movie_pairs = (
        ratings.alias("r1")
        .join(
            ratings.alias("r2"),
            (col("r1.UserID") == col("r2.UserID")) & (col("r1.MovieID") < col("r2.MovieID")),
        )
        .select(
            col("r1.MovieID").alias("movie1"),
            col("r2.MovieID").alias("movie2"),
            col("r1.Rating").alias("rating1"),
            col("r2.Rating").alias("rating2"),
        )
    )
    pair_scores = movie_pairs.groupBy("movie1", "movie2").agg(
        count("*").alias("numPairs"),
        sum_(col("rating1") * col("rating2")).alias("sum_xy"),
        sum_(col("rating1") * col("rating1")).alias("sum_xx"),
        sum_(col("rating2") * col("rating2")).alias("sum_yy"),
    )
    cosine_similarities = pair_scores.withColumn(
        "score", col("sum_xy") / (sqrt(col("sum_xx")) * sqrt(col("sum_yy")))
    )
    similarities_filtered = cosine_similarities.filter(col("numPairs") >= 10).filter(
        col("score") >= 0.95
    )
    similarities_filtered.write.mode("overwrite").parquet(out_dir)
    written = spark.read.parquet(out_dir)
    print(f"similarities_filtered rows: {written.count()}")
    written.filter(col("movie1") == 1).orderBy(col("score").desc()).limit(10).show()
    spark.stop()
    print(f"seed cosine wall seconds: {time.time() - started:.1f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
