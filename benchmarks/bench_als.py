"""Our ALS grid search on the seed's data and settings, timed like ``seed_als.py``.

Reads a ml-latest-style ``ratings.csv``, splits it with :func:`random_split`, runs
:func:`grid_search` over the seed's grid (ranks 6-12 x regParams 0.05-0.8, maxIter 10,
seed 0) and the test RMSE of the best model, printing one ``OURS ...`` summary line.
Driver memory 4g, like the seed benchmark.

Usage::

    python benchmarks/bench_als.py ../shared/data/ml-latest-small/ratings.csv \
        [--num-blocks 1] [--parallelism 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import functions as sf  # noqa: E402

from python_jobs.columns import MOVIE_ID, RATING, USER_ID  # noqa: E402
from python_jobs.metrics import regression_metrics  # noqa: E402
from python_jobs.spark import build_spark_session  # noqa: E402
from python_jobs.splitting import random_split  # noqa: E402
from python_jobs.tuning import grid_search, print_grid_cell  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ratings_csv")
    parser.add_argument("--num-blocks", type=int, default=1)
    parser.add_argument("--parallelism", type=int, default=2)
    args = parser.parse_args(argv)

    started = time.time()
    spark = build_spark_session(
        app_name="bench-als",
        driver_memory="4g",
        extra_conf={"spark.ui.showConsoleProgress": "false"},
    )
    ratings = spark.read.csv(args.ratings_csv, header=True).select(
        sf.col("userId").cast("int").alias(USER_ID),
        sf.col("movieId").cast("int").alias(MOVIE_ID),
        sf.col("rating").cast("double").alias(RATING),
    )
    train, validation, test = random_split(ratings)
    print(f"split sizes: {train.count()}, {validation.count()}, {test.count()}", flush=True)

    result = grid_search(
        train=train,
        validation=validation,
        parallelism=args.parallelism,
        num_blocks=args.num_blocks,
        progress=print_grid_cell,
    )
    test_rmse = regression_metrics(predictions=result.best_model.transform(test)).first()["rmse"]
    print(
        f"OURS grid_seconds={result.seconds:.2f} num_blocks={args.num_blocks} "
        f"parallelism={args.parallelism} best_rank={result.best_rank} "
        f"best_reg={result.best_reg_param} validation_rmse={result.best_validation_rmse:.6f} "
        f"train_rmse={result.best_train_rmse:.6f} test_rmse={test_rmse:.6f}",
        flush=True,
    )
    spark.stop()
    print(f"OURS wall_seconds={time.time() - started:.2f}")


if __name__ == "__main__":
    main()
