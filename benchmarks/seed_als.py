"""The ALS seed's code, verbatim in its computation, as the speed and quality baseline.

Source: "Movie Recommender System Using PySpark" (shared/seeds/000_*.txt). Only the
lines mangled in extraction are completed (``spark.read.load(...)``,
``ratings.select(...)``, ``from pyspark.ml.recommendation import ALS``, the rest of the
``ALS(...)`` call with the usual ``userCol``/``itemCol``/``ratingCol``/
``coldStartStrategy="drop"`` and ``als.fit(train)``); the split, the grid, the RMSE
function and the test evaluation are the article's. The driver memory is fixed to 4g
so that this and ``benchmarks/bench_als.py`` run on equal terms.

Usage::

    python benchmarks/seed_als.py ../shared/data/ml-latest-small/ratings.csv
"""

import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql.functions import col


def RMSE(predictions):  # noqa: N802 - the seed's name
    squared_diff = predictions.withColumn("squared_diff", pow(col("rating") - col("prediction"), 2))
    mse = squared_diff.selectExpr("mean(squared_diff) as mse").first().mse
    return mse**0.5


def GridSearch(train, valid, num_iterations, reg_param, n_factors):  # noqa: N802, N803
    from pyspark.ml.recommendation import ALS

    min_rmse = float("inf")
    best_n = -1
    best_reg = 0
    best_model = None
    for n in n_factors:
        for reg in reg_param:
            als = ALS(
                rank=n,
                maxIter=num_iterations,
                seed=0,
                regParam=reg,
                userCol="userId",
                itemCol="movieId",
                ratingCol="rating",
                coldStartStrategy="drop",
            )
            model = als.fit(train)
            predictions = model.transform(valid)
            rmse = RMSE(predictions)
            print(f"{n} latent factors and regularization = {reg}: validation RMSE is {rmse}")
            if rmse < min_rmse:
                min_rmse = rmse
                best_n = n
                best_reg = reg
                best_model = model
    pred = best_model.transform(train)
    train_rmse = RMSE(pred)
    print(f"\nThe best model has {best_n} latent factors and regularization = {best_reg}:")
    print(f"traning RMSE is {train_rmse}; validation RMSE is {min_rmse}")
    return best_model


def main(ratings_path: str) -> None:
    started = time.time()
    spark = (
        SparkSession.builder.appName("recommendation")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    ratings = spark.read.load(ratings_path, format="csv", header=True)
    ratings = ratings.select("userId", "movieId", "rating")
    df = (
        ratings.withColumn("userId", ratings["userId"].cast("int"))
        .withColumn("movieId", ratings["movieId"].cast("int"))
        .withColumn("rating", ratings["rating"].cast("float"))
    )
    train, validation, test = df.randomSplit([0.6, 0.2, 0.2], seed=0)
    print(
        f"The number of ratings in each set: {train.count()}, {validation.count()}, {test.count()}"
    )
    num_iterations = 10
    ranks = [6, 8, 10, 12]
    reg_params = [0.05, 0.1, 0.2, 0.4, 0.8]
    start_time = time.time()
    final_model = GridSearch(train, validation, num_iterations, reg_params, ranks)
    grid_seconds = time.time() - start_time
    print(f"Total Runtime: {grid_seconds:.2f} seconds")
    pred_test = final_model.transform(test)
    print("The testing RMSE is " + str(RMSE(pred_test)))
    spark.stop()
    print(f"SEED grid_seconds={grid_seconds:.2f} wall_seconds={time.time() - started:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
