"""The ALS seed's path at scale: its test-time lists, evaluation and metric curves, timed.

``ml_recommender_evaluation`` and ``ml_recommender_metric_curves`` score the explicit ALS
model themselves (every test user against every trained movie,
:func:`python_jobs.als.als_top_n`) and only read the other recommenders' list tables. This
times that work alone on a ``ratings.dat`` (the ML-10M layout, e.g. one written by
``movielens-generate --layout ml-10m``), without building the other recommenders: the
stratified split (cached), one ALS fit on train, the test-time lists ``--max-k`` deep
(``ml_als_test_lists``, cached), then the evaluation's row for ALS and its curves to
``--max-k`` from those lists, each a Spark action of its own. Driver memory 4g, the
project's.

Usage (from the project root, in the project's environment)::

    python benchmarks/als_evaluation.py /data/gen-10m [--rank 10] [--reg-param 0.1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyspark.sql import functions as sf  # noqa: E402

from python_jobs import als, evaluation  # noqa: E402
from python_jobs.columns import MOVIE_ID, RATING, USER_ID  # noqa: E402
from python_jobs.spark import build_spark_session  # noqa: E402
from python_jobs.splitting import splits_from_table, stratified_split_table  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("movielens_dir", help="a directory holding ratings.dat")
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--reg-param", type=float, default=0.1)
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--max-k", type=int, default=20)
    args = parser.parse_args(argv)
    ratings_file = Path(args.movielens_dir) / "ratings.dat"
    if not ratings_file.is_file():
        parser.error(f"no ratings.dat in {args.movielens_dir}")

    spark = build_spark_session(app_name="als-evaluation", driver_memory="4g")
    fields = sf.split(sf.col("value"), "::")
    ratings = spark.read.text(str(ratings_file)).select(
        fields[0].cast("int").alias(USER_ID),
        fields[1].cast("int").alias(MOVIE_ID),
        fields[2].cast("double").alias(RATING),
    )

    def timed(label: str, action):
        started = time.perf_counter()
        result = action()
        print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
        return result

    splits = stratified_split_table(ratings).cache()
    counts = timed("stratified split", lambda: splits.groupBy("split").count().collect())
    print("  " + ", ".join(f"{row['split']} {row['count']:,}" for row in sorted(counts)))
    train, _, test = splits_from_table(splits)
    model = timed(
        f"ALS fit on train (rank {args.rank}, regParam {args.reg_param})",
        lambda: als.fit_als(train=train.coalesce(1), rank=args.rank, reg_param=args.reg_param),
    )
    n_users = test.select(USER_ID).distinct().count()
    n_movies = model.itemFactors.count()
    print(f"  {n_users:,} test users x {n_movies:,} trained movies")

    def score_lists():
        scored = evaluation.als_test_lists(splits=splits, als_model=model, depth=args.max_k)
        scored = scored.cache()
        return scored, scored.count()

    lists, n_rows = timed(f"test lists ({args.max_k} deep)", score_lists)
    print(f"  {n_rows:,} rows")
    no_selection = spark.createDataFrame(
        [], "recommender string, params string, validation_ndcg_at_k double, is_served boolean"
    )
    rows = timed(
        f"evaluation (the first {args.top_n} of each list, metrics, RMSE)",
        lambda: evaluation.evaluation_table(
            splits=splits,
            als_model=model,
            recommender_lists={},
            selection=no_selection,
            top_n=args.top_n,
            als_lists=lists,
        ).collect(),
    )
    for row in rows:
        print(
            f"  {row['recommender']}: precision@{args.top_n} {row['precision_at_k']:.4f}, "
            f"NDCG@{args.top_n} {row['ndcg_at_k']:.4f}, RMSE {row['rmse']:.4f}, "
            f"{row['n_users_evaluated']:,} users"
        )
    curves = timed(
        f"metric curves (k = 1..{args.max_k})",
        lambda: evaluation.metric_curves(
            splits=splits, als_lists=lists, recommender_lists={}, max_k=args.max_k
        ).collect(),
    )
    print(f"  {len(curves)} rows")
    spark.stop()


if __name__ == "__main__":
    main()
