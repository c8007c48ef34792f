"""Top-N selection of the driver-side scorers: a stable sort of whole rows vs ``top_columns``.

ALS (``python_jobs.als.als_top_n``) and EASE (``python_jobs.scoring.blocked_top_n``) score
every user against every movie in numpy blocks of ``SCORE_BLOCK_USERS`` users and keep each
user's best ``top_n``. This times that selection both ways on random factors the size of a
data set (default: ML-10M's 69,930 users and 10,681 movies, rank 10, 143 excluded movies a
user), in turn on every block (its scores computed once, outside the timing), and checks
that both choose the same columns. Memory: one block of scores (2,048 users x 10,681
movies, 175 MB) and its copies.

Usage (from the project root, in the project's environment)::

    python benchmarks/top_n_scoring.py --rounds 3
    python benchmarks/top_n_scoring.py --users 6993 --movies 6364
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from python_jobs.scoring import SCORE_BLOCK_USERS, top_columns  # noqa: E402


def sorted_rows(values: np.ndarray, depth: int) -> np.ndarray:
    return np.argsort(-values, axis=1, kind="stable")[:, :depth]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=69_930)
    parser.add_argument("--movies", type=int, default=10_681)
    parser.add_argument("--rank", type=int, default=10)
    parser.add_argument("--rated", type=int, default=143, help="excluded movies a user")
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    users = rng.normal(size=(args.users, args.rank))
    items = rng.normal(size=(args.movies, args.rank))

    def blocks():
        for start in range(0, args.users, SCORE_BLOCK_USERS):
            scores = users[start : start + SCORE_BLOCK_USERS] @ items.T
            rows = np.repeat(np.arange(len(scores)), args.rated)
            scores[rows, rng.integers(0, args.movies, len(rows))] = -np.inf
            yield scores

    times = {"sort": [], "top_columns": []}
    for round_number in range(1, args.rounds + 1):
        spent = {"sort": 0.0, "top_columns": 0.0}
        for scores in blocks():  # each block's selection timed both ways, in turn
            started = time.monotonic()
            reference = sorted_rows(scores, args.top_n)
            spent["sort"] += time.monotonic() - started
            started = time.monotonic()
            chosen = top_columns(scores, args.top_n)
            spent["top_columns"] += time.monotonic() - started
            if not np.array_equal(chosen, reference):
                sys.exit("top_columns chose other columns than the sort")
        for name, seconds in spent.items():
            times[name].append(seconds)
        sort, top = spent["sort"], spent["top_columns"]
        print(
            f"round {round_number}: sort {sort:.2f} s, top_columns {top:.2f} s, {sort / top:.1f}x",
            flush=True,
        )
    sort, top = np.median(times["sort"]), np.median(times["top_columns"])
    print(
        f"{args.users:,} users x {args.movies:,} movies, top {args.top_n}: median sort "
        f"{sort:.2f} s, top_columns {top:.2f} s, {sort / top:.1f}x; same columns: True"
    )


if __name__ == "__main__":
    main()
