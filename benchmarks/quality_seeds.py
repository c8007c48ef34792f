"""Served quality under several split seeds: the recommenders' evaluation table per seed.

One split can flatter a model by more than the gap between two models, so the quality
figures of the README are read under several ``stratified_seed`` values. For each seed this
runs ``dbt build --select +ml_user_recommendations +ml_recommender_evaluation`` on the given
MovieLens directory (its own Spark dir under ``--work``, so the runs never share a
warehouse), then prints ``ml_recommender_evaluation`` (every recommender on that seed's test
part, the served one marked) and the mean over the seeds.

Usage (from the project root, in the project's environment)::

    python benchmarks/quality_seeds.py ../shared/data/ml-100k --seeds 42 7 2024 \\
        --work /tmp/quality
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from python_jobs.tools.warehouse import read_table_files  # noqa: E402

COLUMNS = ["precision_at_k", "ndcg_at_k", "recall_at_k", "map_at_k", "catalog_coverage"]
SCHEMA = "movielens"


def build(data: Path, seed: int, work: Path) -> pd.DataFrame:
    """One build at ``stratified_seed = seed``; its evaluation table."""
    spark_dir = work / f"seed-{seed}"
    spark_dir.mkdir(parents=True, exist_ok=True)
    dbt_vars = json.dumps({"movielens_path": str(data.resolve()), "stratified_seed": seed})
    command = [
        "dbt", "build", "--select", "+ml_user_recommendations", "+ml_recommender_evaluation",
        "--indirect-selection", "cautious",
        "--vars", dbt_vars, "--target-path", str(spark_dir / "target"),
        "--log-path", str(spark_dir / "logs"),
    ]  # fmt: skip
    started = time.monotonic()
    env = {**os.environ, "MOVIELENS_SPARK_DIR": str(spark_dir)}
    with open(spark_dir / "build.log", "w") as log:
        result = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise SystemExit(f"seed {seed}: dbt build failed, see {spark_dir / 'build.log'}")
    print(f"seed {seed}: built in {time.monotonic() - started:.0f} s", flush=True)
    table = spark_dir / "warehouse" / f"{SCHEMA}.db" / "ml_recommender_evaluation"
    return read_table_files(table).assign(seed=seed)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("movielens_dir", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 2024])
    parser.add_argument("--work", type=Path, default=Path("/tmp/quality-seeds"))
    args = parser.parse_args(argv)
    tables = []
    for seed in args.seeds:
        table = build(args.movielens_dir, seed, args.work)
        served = table.loc[table["is_served"], "recommender"].item()
        table["recommender"] = table["recommender"].where(
            table["recommender"] != served, served + " (served)"
        )
        print(table.set_index("recommender")[COLUMNS].round(4).to_string(), flush=True)
        tables.append(table.assign(recommender=table["recommender"].str.replace(" (served)", "")))
        tables[-1]["served"] = table["is_served"]
    every = pd.concat(tables)
    print(f"\nmean over seeds {args.seeds}:")
    print(every.groupby("recommender")[COLUMNS].mean().round(4).to_string())
    served = every[every["served"]]
    print("\nserved per seed:")
    print(served.set_index("seed")[["recommender", *COLUMNS]].round(4).to_string())


if __name__ == "__main__":
    main()
