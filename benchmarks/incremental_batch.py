"""A day's batch of ratings: the incremental pair path against a full build of the same data.

Generates N ratings in the ML-10M layout (as benchmarks/compare_cosine.py does), builds the
cosine path (`dbt run --select +fct_movie_similarities`) without the batch, then drops a
batch of new ratings (``--batch-share`` of N, 0.1% by default: nine in ten new ratings of
existing users, one in ten re-ratings at a later time) into ``batches/`` and times,
alternating:

- incremental: the same `dbt run` with `pair_engine: sql`, which updates
  `int_movie_pair_scores` with the batch (with the blocked engine, new ratings make the
  table rebuild instead, macros/incremental_sums.sql);
- full-blocked and full-sql: `dbt run --full-refresh` in warehouses of their own, which
  recompute it from every rating with the blocked engine and with the SQL self-join.

All read the same files and must end with the same pair sums and similarities (checked).
Prints each round's wall times and their ratio, the medians, and where the incremental run's
time goes (dbt's per-model times). Each round first rebuilds the incremental warehouse
without the batch (not timed).

Usage (from the project root, in the project's environment)::

    python benchmarks/incremental_batch.py --generate 1000000 --rounds 3
    python benchmarks/incremental_batch.py --generate 10000000 --movies 10681 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from compare_cosine import generate, timed_output  # benchmarks/, this script's folder

from python_jobs.tools.warehouse import read_table_files

ROOT = Path(__file__).resolve().parent.parent
SELECTION = ["--select", "+fct_movie_similarities"]
TABLES = ("int_movie_pair_scores", "fct_movie_similarities")


def write_batch(ratings_path: Path, share: float, out: Path, seed: int = 7) -> int:
    """A batch of ``share`` x the ratings in the `::` layout: 90% new ratings of existing
    users (movies drawn by popularity among those they have not rated), 10% re-ratings."""
    rng = np.random.default_rng(seed)
    frame = pd.read_csv(
        StringIO(ratings_path.read_text().replace("::", "\t")), sep="\t", header=None,
        names=["user_id", "movie_id", "rating", "timestamp"],
    )  # fmt: skip
    size = max(10, int(len(frame) * share))
    later = int(frame["timestamp"].max()) + 86_400
    rerated = frame.sample(n=size // 10, random_state=seed)
    rerated = rerated.assign(
        rating=np.clip(rerated["rating"] + rng.choice([-1.0, 1.0], len(rerated)), 0.5, 5.0),
        timestamp=later,
    )
    popularity = frame["movie_id"].value_counts(normalize=True)
    users = rng.choice(frame["user_id"].unique(), size=size - len(rerated))
    movies = rng.choice(popularity.index.to_numpy(), size=len(users), p=popularity.to_numpy())
    new = pd.DataFrame(
        {"user_id": users, "movie_id": movies, "rating": rng.integers(1, 11, len(users)) / 2,
         "timestamp": later + 1}
    )  # fmt: skip
    new = new.drop_duplicates(["user_id", "movie_id"])
    new = new.merge(frame[["user_id", "movie_id"]], how="left", indicator=True)
    new = new[new["_merge"] == "left_only"].drop(columns="_merge")
    batch = pd.concat([rerated, new], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = (
        batch["user_id"].astype(str) + "::" + batch["movie_id"].astype(str) + "::"
        + batch["rating"].map(lambda value: f"{value:g}") + "::" + batch["timestamp"].astype(str)
    )  # fmt: skip
    out.write_text("\n".join(lines) + "\n")
    return len(batch)


def dbt(work: Path, spark_dir: Path, data_dir: Path, engine: str, *extra: str) -> tuple[float, str]:
    command = [
        str(Path(sys.executable).parent / "dbt"), "run", *SELECTION, *extra,
        "--vars", f"{{movielens_path: '{data_dir}', pair_engine: {engine}}}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MOVIELENS_SPARK_DIR": str(spark_dir),
    }
    return timed_output(command, env)


def model_times(work: Path) -> dict[str, float]:
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].rsplit(".", 1)[-1]: r["execution_time"] for r in results}


def same_tables(first: Path, second: Path) -> str:
    verdicts = []
    for table in TABLES:
        key = ["movie1_id", "movie2_id"]
        a, b = (
            read_table_files(spark / "warehouse" / "movielens.db" / table)
            .sort_values(key)
            .reset_index(drop=True)
            for spark in (first, second)
        )
        same = (
            len(a) == len(b)
            and all((a[c].to_numpy() == b[c].to_numpy()).all() for c in [*key, "num_pairs"])
            and all((a[c].to_numpy() == b[c].to_numpy()).all() for c in ["sum_xy", "sum_xx"])
            and np.abs(a["score"].to_numpy() - b["score"].to_numpy()).max(initial=0) <= 1e-9
        )
        verdicts.append(f"{table} {same} ({len(a):,} rows)")
    return ", ".join(verdicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generate", type=int, metavar="RATINGS", required=True)
    parser.add_argument("--movies", type=int, help="movies of the generated set")
    parser.add_argument("--batch-share", type=float, default=0.001)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="incremental-batch-"))
    data_dir = generate(work, args.generate, args.movies)
    print(f"data: {data_dir} ({args.generate:,} ratings)", flush=True)
    batch = data_dir / "batches" / "day-1" / "ratings.dat"
    held = work / "batch.dat"
    lines = write_batch(data_dir / "ratings.dat", args.batch_share, held)
    print(f"batch: {batch} ({lines:,} lines)", flush=True)
    # The update is SQL (pair_engine: sql); the full builds, each engine's.
    contenders = {
        "incremental": ("sql", ()),
        "full-blocked": ("blocked", ("--full-refresh",)),
        "full-sql": ("sql", ("--full-refresh",)),
    }
    runs = {kind: [] for kind in contenders}
    for round_number in range(1, args.rounds + 1):
        # The metastore records absolute paths, so a warehouse cannot be copied: the state
        # before the batch is built again (not timed), the batch set aside.
        batch.unlink(missing_ok=True)
        seconds, _ = dbt(work / "setup", work / "spark-incremental", data_dir, "blocked")
        print(f"round {round_number}: the build before the batch (not compared) {seconds:.1f} s")
        batch.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(held, batch)
        for kind, (engine, extra) in contenders.items():
            seconds, output = dbt(work / kind, work / f"spark-{kind}", data_dir, engine, *extra)
            expected = "incremental update" if kind == "incremental" else "full build"
            if f"int_movie_pair_scores: {expected}" not in output:
                sys.exit(f"the {kind} run did not log '{expected}':\n{output[-3000:]}")
            runs[kind].append(seconds)
        print(
            f"round {round_number}: "
            + ", ".join(f"{kind} {times[-1]:.1f} s" for kind, times in runs.items())
            + ", full/incremental: "
            + ", ".join(
                f"{kind} {runs[kind][-1] / runs['incremental'][-1]:.2f}x"
                for kind in contenders
                if kind != "incremental"
            ),
            flush=True,
        )
    incremental = np.median(runs["incremental"])
    print(
        f"median: incremental {incremental:.1f} s, "
        + ", ".join(
            f"{kind} {np.median(runs[kind]):.1f} s ({np.median(runs[kind]) / incremental:.2f}x)"
            for kind in contenders
            if kind != "incremental"
        )
    )
    for kind in contenders:
        times = sorted(model_times(work / kind).items(), key=lambda item: -item[1])
        print(f"{kind} run, seconds per node: " + ", ".join(f"{n} {s:.1f}" for n, s in times[:6]))
    for kind in ("full-blocked", "full-sql"):
        print(
            f"same tables, incremental and {kind}: "
            + same_tables(work / "spark-incremental", work / f"spark-{kind}")
        )
    if args.keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
