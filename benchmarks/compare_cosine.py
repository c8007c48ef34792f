"""The cosine path side by side: the seed's PySpark code vs `dbt build --selector item_similarity`.

Runs each contender as its own process on the same ratings file, alternating, and prints
wall times and their ratio, then checks that both produced the same similarity table.
``dbt build`` also runs the path's data and unit tests; ``--dbt-command run`` times the
models alone. dbt runs as shipped: the profile's driver JVM options and the class-data
archive of ``make setup`` (``--no-jvm-archive`` leaves the archive out).

``--generate N`` writes N generated ratings in the ML-10M ``.dat`` layout the seed read
(about 143 ratings a user, as in ML-10M; ``--movies 10681`` for ML-10M's movie count) and
runs on them; ``--pair-engine blocked`` runs the project with the blocked sparse-product
engine; ``--scipy`` also times, each round, the single-core scipy Gram product of
``benchmarks/scipy_pairs.py`` (the yardstick); ``--skip-seed`` leaves the seed out (on the
10M set of ``--generate 10000000 --movies 10681`` it ran out of heap after 29 minutes on a
2-core machine with 4g of driver memory, docs/benchmarks.md).

Usage (from the project root, in the project's environment)::

    python benchmarks/compare_cosine.py ../shared/data/ml-latest-small --rounds 3
    python benchmarks/compare_cosine.py --generate 1000000 --pair-engine blocked --scipy
    python benchmarks/compare_cosine.py --generate 10000000 --movies 10681 \
        --pair-engine blocked --scipy --skip-seed --rounds 1
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy_pairs import read_ratings  # benchmarks/, this script's folder

from python_jobs.tools.warehouse import read_table_files

ROOT = Path(__file__).resolve().parent.parent


def timed_output(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and output of ``command`` run from the project root; exits on failure."""
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}")
    return seconds, completed.stdout


def timed(command: list[str], env: dict[str, str]) -> float:
    return timed_output(command, env)[0]


def generate(work: Path, ratings: int, movies: int | None) -> Path:
    """``ratings`` generated ratings in the ML-10M layout, 143 a user on average as in ML-10M,
    and ``movies`` movies (None: the generator's default, growing with the ratings)."""
    out = work / "data"
    subprocess.run(
        [
            sys.executable, "-m", "python_jobs.datasets.generator", "--layout", "ml-10m",
            "--ratings", str(ratings), "--users", str(max(1, ratings // 143)),
            *(["--movies", str(movies)] if movies else []),
            "--no-bad-rows", "--quiet", "--out", str(out),
        ],
        cwd=ROOT, check=True,
    )  # fmt: skip
    return out


def pair_rows(ratings_path: Path, min_raters: int = 10) -> int:
    """Rows of the self-join: per user, n·(n-1)/2 over their movies with enough raters."""
    frame = read_ratings(ratings_path)
    counts = frame.groupby("movie_id")["user_id"].transform("size")
    per_user = frame[counts >= min_raters].groupby("user_id").size().to_numpy(dtype=np.int64)
    return int((per_user * (per_user - 1) // 2).sum())


def timed_scipy(ratings: Path, env: dict[str, str]) -> float:
    """Seconds of the yardstick's products, as scipy_pairs.py prints them."""
    completed = subprocess.run(
        [sys.executable, "benchmarks/scipy_pairs.py", str(ratings)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        check=True,
    )  # fmt: skip
    return float(re.search(r"in ([0-9.]+) s on one core", completed.stdout).group(1))


def same_result(seed_out: Path, work: Path) -> str:
    """Whether the seed's and the project's similarity tables hold the same pairs, equal
    ``num_pairs`` and scores within 1e-9."""
    seed = pd.read_parquet(seed_out).rename(
        columns={"movie1": "movie1_id", "movie2": "movie2_id", "numPairs": "num_pairs"}
    )
    table = work / "spark" / "warehouse" / "movielens.db" / "fct_movie_similarities"
    ours = read_table_files(table)
    key = ["movie1_id", "movie2_id"]
    seed, ours = (frame.sort_values(key).reset_index(drop=True) for frame in (seed, ours))
    same = (
        len(seed) == len(ours)
        and (seed[key].to_numpy() == ours[key].to_numpy()).all()
        and (seed["num_pairs"].to_numpy() == ours["num_pairs"].to_numpy()).all()
        and np.abs(seed["score"].to_numpy() - ours["score"].to_numpy()).max() <= 1e-9
    )
    return f"{same} ({len(ours):,} pairs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("movielens_dir", type=Path, nargs="?")
    parser.add_argument("--generate", type=int, metavar="RATINGS")
    parser.add_argument("--movies", type=int, help="movies of the generated set")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dbt-command", choices=["build", "run"], default="build")
    parser.add_argument("--pair-engine", choices=["sql", "blocked"], default="sql")
    parser.add_argument("--scipy", action="store_true")
    parser.add_argument("--skip-seed", action="store_true", help="time the project alone")
    parser.add_argument("--no-jvm-archive", action="store_true")
    args = parser.parse_args()
    if (args.movielens_dir is None) == (args.generate is None):
        parser.error("give a MovieLens directory or --generate RATINGS")
    work = Path(tempfile.mkdtemp(prefix="compare-cosine-"))
    if args.generate:
        data_dir = generate(work, args.generate, args.movies)
    else:
        data_dir = args.movielens_dir.resolve()
    ratings = data_dir / ("ratings.csv" if (data_dir / "ratings.csv").exists() else "ratings.dat")
    print(f"data: {ratings} ({pair_rows(ratings):,} self-join pair rows)", flush=True)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    bin_dir = Path(sys.executable).parent
    seed_out = work / "seed-similarities"
    dbt_env = {**env, "MOVIELENS_SPARK_DIR": str(work / "spark")}
    if args.no_jvm_archive:
        dbt_env["MOVIELENS_JVM_ARCHIVE"] = str(work / "no-such-archive.jsa")
    seed_cmd = [sys.executable, "benchmarks/seed_cosine.py", str(ratings), str(seed_out)]
    dbt_cmd = [
        str(bin_dir / "dbt"), args.dbt_command, "--selector", "item_similarity",
        "--vars", f"{{movielens_path: '{data_dir}', pair_engine: {args.pair_engine}}}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    # One warm-up dbt run creates the metastore, as a user's second build finds it.
    timed(dbt_cmd, dbt_env)
    seed_times, dbt_times, scipy_times = [], [], []
    for round_number in range(1, args.rounds + 1):
        parts = [f"round {round_number}:"]
        if not args.skip_seed:
            seed_times.append(timed(seed_cmd, env))
            parts.append(f"seed {seed_times[-1]:.1f} s,")
        dbt_times.append(timed(dbt_cmd, dbt_env))
        parts.append(
            f"dbt {args.dbt_command} --selector item_similarity (pair_engine "
            f"{args.pair_engine}) {dbt_times[-1]:.1f} s"
        )
        if seed_times:
            parts.append(f"seed/dbt {seed_times[-1] / dbt_times[-1]:.2f}x")
        if args.scipy:
            scipy_times.append(timed_scipy(ratings, env))
            parts.append(
                f"scipy one core {scipy_times[-1]:.1f} s, "
                f"dbt/scipy {dbt_times[-1] / scipy_times[-1]:.2f}x"
            )
        print(" ".join(parts), flush=True)
    summary = [f"median: dbt {np.median(dbt_times):.1f} s"]
    if seed_times:
        summary.append(
            f"seed {np.median(seed_times):.1f} s, "
            f"speed-up {np.median(seed_times) / np.median(dbt_times):.2f}x"
        )
    if scipy_times:
        summary.append(
            f"scipy one core {np.median(scipy_times):.1f} s, "
            f"dbt/scipy {np.median(dbt_times) / np.median(scipy_times):.2f}x"
        )
    print("; ".join(summary))
    if seed_times:
        print(f"same result: {same_result(seed_out, work)}")
    else:
        print("same result: not checked (--skip-seed)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
