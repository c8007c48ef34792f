"""The ALS seed's published figures, reproduced on ml-latest-small (slow)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyspark.sql import functions as sf

from python_jobs.als import grid_search, split_ratings
from python_jobs.columns import MOVIE_ID, RATING, USER_ID
from python_jobs.metrics import regression_metrics
from python_jobs.spark import build_spark_session

DATA_DIR = Path(
    os.environ.get(
        "MOVIELENS_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
RATINGS_CSV = DATA_DIR / "ml-latest-small" / "ratings.csv"


@pytest.fixture(scope="session")
def spark():
    return build_spark_session(master="local[2]", shuffle_partitions=4)


@pytest.mark.slow
def test_seed_split_and_rmse_figures(spark):
    if not RATINGS_CSV.exists():
        pytest.skip(f"MovieLens ml-latest-small not found at {RATINGS_CSV} (MOVIELENS_DATA_DIR)")
    ratings = spark.read.csv(str(RATINGS_CSV), header=True).select(
        sf.col("userId").cast("int").alias(USER_ID),
        sf.col("movieId").cast("int").alias(MOVIE_ID),
        sf.col("rating").cast("double").alias(RATING),
    )
    train, validation, test = split_ratings(ratings, weights=(0.6, 0.2, 0.2), seed=0)
    assert (train.count(), validation.count(), test.count()) == (60435, 20052, 20349)
    result = grid_search(train=train, validation=validation, max_iter=10, seed=0)
    assert result.table.count() == 20
    test_rmse = regression_metrics(predictions=result.best_model.transform(test)).first()["rmse"]
    assert result.best_validation_rmse == pytest.approx(0.895, abs=0.005)
    assert test_rmse == pytest.approx(0.896, abs=0.005)
    assert result.best_train_rmse == pytest.approx(0.69, abs=0.03)
