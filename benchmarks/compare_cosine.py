"""The cosine path side by side: the seed's PySpark code vs `dbt build --selector item_similarity`.

Runs each contender as its own process on the same ratings file, alternating, and prints
wall times and their ratio, then checks that both produced the same similarity table.
``dbt build`` also runs the path's data and unit tests; ``--dbt-command run`` times the
models alone. dbt runs as shipped: the profile's driver JVM options and the class-data
archive of ``make setup`` (``--no-jvm-archive`` leaves the archive out).

Usage (from the project root, in the project's environment)::

    python benchmarks/compare_cosine.py ../shared/data/ml-latest-small --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("movielens_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dbt-command", choices=["build", "run"], default="build")
    parser.add_argument("--no-jvm-archive", action="store_true")
    args = parser.parse_args()
    data_dir = args.movielens_dir.resolve()
    ratings = data_dir / ("ratings.csv" if (data_dir / "ratings.csv").exists() else "ratings.dat")
    work = Path(tempfile.mkdtemp(prefix="compare-cosine-"))
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    bin_dir = Path(sys.executable).parent
    seed_out = work / "seed-similarities"
    dbt_env = {**env, "MOVIELENS_SPARK_DIR": str(work / "spark")}
    if args.no_jvm_archive:
        dbt_env["MOVIELENS_JVM_ARCHIVE"] = str(work / "no-such-archive.jsa")
    seed_cmd = [sys.executable, "benchmarks/seed_cosine.py", str(ratings), str(seed_out)]
    dbt_cmd = [
        str(bin_dir / "dbt"), args.dbt_command, "--selector", "item_similarity",
        "--vars", f"{{movielens_path: '{data_dir}'}}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    # One warm-up dbt run creates the metastore, as a user's second build finds it.
    timed(dbt_cmd, dbt_env)
    seed_times, dbt_times = [], []
    for round_number in range(1, args.rounds + 1):
        seed_times.append(timed(seed_cmd, env))
        dbt_times.append(timed(dbt_cmd, dbt_env))
        print(
            f"round {round_number}: seed {seed_times[-1]:.1f} s, "
            f"dbt {args.dbt_command} --selector item_similarity {dbt_times[-1]:.1f} s, "
            f"ratio {seed_times[-1] / dbt_times[-1]:.2f}x",
            flush=True,
        )
    print(
        f"median: seed {np.median(seed_times):.1f} s, dbt {np.median(dbt_times):.1f} s, "
        f"speed-up {np.median(seed_times) / np.median(dbt_times):.2f}x"
    )
    seed = pd.read_parquet(seed_out).rename(
        columns={"movie1": "movie1_id", "movie2": "movie2_id", "numPairs": "num_pairs"}
    )
    ours = pd.read_parquet(work / "spark" / "warehouse" / "movielens.db" / "fct_movie_similarities")
    key = ["movie1_id", "movie2_id"]
    seed, ours = (frame.sort_values(key).reset_index(drop=True) for frame in (seed, ours))
    same = (
        len(seed) == len(ours)
        and (seed[key].to_numpy() == ours[key].to_numpy()).all()
        and (seed["num_pairs"].to_numpy() == ours["num_pairs"].to_numpy()).all()
        and np.abs(seed["score"].to_numpy() - ours["score"].to_numpy()).max() <= 1e-9
    )
    print(f"same result: {same} ({len(ours)} pairs)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
