"""Train, evaluate and apply ALS on MovieLens: the spark-submit entry point.

Runs split -> grid search -> evaluate -> recommend, the steps of the dbt models in
``models/ml/`` (the seed protocol's :func:`python_jobs.pipeline.split_table`, then
:mod:`python_jobs.tuning`, :mod:`python_jobs.evaluation` and :mod:`python_jobs.als`), and
writes four parquet tables under ``--output-dir``: ``als_grid``, ``als_evaluation``,
``als_recommendations`` and ``split_sizes``. Usage::

    spark-submit python_jobs/tools/train_als.py \
        --ratings ../shared/data/ml-latest-small/ratings.csv \
        --movies ../shared/data/ml-latest-small/movies.csv --output-dir artifacts/als
    python -m python_jobs.tools.train_als --ratings main.stg_ratings --movies main.stg_movies ...

``--ratings``/``--movies`` take a ml-latest-style CSV (``userId,movieId,rating,...`` /
``movieId,title,...``), a parquet path, or a catalog table name; camelCase MovieLens
columns are renamed to ``user_id``/``movie_id``. ``--checkpoint-dir`` sets
``spark.checkpoint.dir`` for a session this script creates (under spark-submit pass
``--conf spark.checkpoint.dir=...`` instead).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (spark-submit python_jobs/tools/train_als.py)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as sf  # noqa: E402

from python_jobs import defaults, pipeline  # noqa: E402
from python_jobs.als import recommend_top_n  # noqa: E402
from python_jobs.columns import MOVIE_ID, PURPOSE, USER_ID  # noqa: E402
from python_jobs.evaluation import evaluation_table  # noqa: E402
from python_jobs.recommenders import popularity_lists  # noqa: E402
from python_jobs.spark import build_spark_session  # noqa: E402
from python_jobs.splitting import splits_from_table  # noqa: E402
from python_jobs.tuning import grid_search, print_grid_cell  # noqa: E402

MOVIELENS_NAMES = {"userId": USER_ID, "movieId": MOVIE_ID}


def read_table(spark: SparkSession, source: str) -> DataFrame:
    """A CSV file (with header), a parquet path or a catalog table, MovieLens ids renamed."""
    if source.endswith(".csv"):
        frame = spark.read.csv(source, header=True, inferSchema=True)
    elif os.path.exists(source) or source.endswith(".parquet"):
        frame = spark.read.parquet(source)
    else:
        frame = spark.table(source)
    return frame.withColumnsRenamed(
        {old: new for old, new in MOVIELENS_NAMES.items() if old in frame.columns}
    )


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", required=True, help="CSV, parquet path or table")
    parser.add_argument("--movies", required=True, help="CSV, parquet path or table")
    parser.add_argument("--output-dir", required=True, help="parquet tables go here")
    parser.add_argument("--ranks", type=_ints, default=list(defaults.ALS_RANKS))
    parser.add_argument("--reg-params", type=_floats, default=list(defaults.ALS_REG_PARAMS))
    parser.add_argument("--max-iter", type=int, default=defaults.ALS_MAX_ITER)
    parser.add_argument("--seed", type=int, default=defaults.SEED)
    parser.add_argument("--top-n", type=int, default=defaults.TOP_N)
    parser.add_argument("--parallelism", type=int, default=2, help="fits in flight")
    parser.add_argument(
        "--num-blocks", type=int, default=defaults.ALS_NUM_BLOCKS, help="ALS user/item blocks"
    )
    parser.add_argument("--checkpoint-dir", help="sets spark.checkpoint.dir")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    extra = {"spark.checkpoint.dir": args.checkpoint_dir} if args.checkpoint_dir else {}
    spark = build_spark_session(app_name="train_als", extra_conf=extra)
    ratings = read_table(spark, args.ratings)
    movies = read_table(spark, args.movies)
    out = Path(args.output_dir)

    splits = pipeline.split_table(ratings=ratings, protocol="seed", seed=args.seed).cache()
    train, validation, test = splits_from_table(splits)
    sizes = [("train", train.count()), ("validation", validation.count()), ("test", test.count())]
    print("split sizes: " + ", ".join(f"{name} {n}" for name, n in sizes), flush=True)
    spark.createDataFrame(sizes, "split string, n_ratings long").write.mode("overwrite").parquet(
        str(out / "split_sizes")
    )

    result = grid_search(
        train=train,
        validation=validation,
        ranks=args.ranks,
        reg_params=args.reg_params,
        max_iter=args.max_iter,
        seed=args.seed,
        parallelism=args.parallelism,
        num_blocks=args.num_blocks,
        progress=print_grid_cell,
    )
    print(
        f"best: rank={result.best_rank} reg_param={result.best_reg_param} validation RMSE "
        f"{result.best_validation_rmse:.4f} (grid {result.seconds:.1f}s)",
        flush=True,
    )
    result.table.write.mode("overwrite").parquet(str(out / "als_grid"))
    popular = popularity_lists(
        train.unionByName(validation), test.select(USER_ID), {}, args.top_n
    ).withColumn(PURPOSE, sf.lit("evaluation"))
    evaluation = evaluation_table(
        splits=splits,
        als_model=result.best_model,
        recommender_lists={"popularity": popular},
        selection=spark.createDataFrame(
            [], "recommender string, params string, validation_ndcg_at_k double, is_served boolean"
        ),
        top_n=args.top_n,
    )
    evaluation.write.mode("overwrite").parquet(str(out / "als_evaluation"))
    spark.read.parquet(str(out / "als_evaluation")).show(truncate=False)
    recommend_top_n(
        model=result.best_model, ratings=ratings, movies=movies, top_n=args.top_n
    ).write.mode("overwrite").parquet(str(out / "als_recommendations"))
    print(f"wrote {out}/{{split_sizes,als_grid,als_evaluation,als_recommendations}}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
