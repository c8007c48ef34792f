"""The yardstick of the pair aggregates' speed: a plain sparse Gram product on one core.

XᵀX (co-rater counts) and RᵀR (sums of rating products) of the user x movie matrices, per
block of ``--block`` movies, with scipy in this one process (scipy's sparse product is
single-threaded). It prints the seconds of the products alone, after the file is read:
what this machine can do for the pair table's core arithmetic, with no Spark around it.

Usage::

    python benchmarks/scipy_pairs.py DATA_DIR/ratings.dat
"""

from __future__ import annotations

import sys
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse


def read_ratings(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        frame = pd.read_csv(path, usecols=[0, 1, 2])
    else:  # ML-1M / ML-10M `.dat`: user::movie::rating::timestamp
        text = path.read_text().replace("::", "\t")
        frame = pd.read_csv(StringIO(text), sep="\t", header=None, usecols=[0, 1, 2])
    frame.columns = ["user_id", "movie_id", "rating"]
    return frame


def main(path: Path, block: int = 1000) -> None:
    ratings = read_ratings(path)
    _, users = np.unique(ratings["user_id"], return_inverse=True)
    _, movies = np.unique(ratings["movie_id"], return_inverse=True)
    values = ratings["rating"].to_numpy(dtype=float)
    shape = (int(users.max()) + 1, int(movies.max()) + 1)
    started = time.monotonic()
    x = sparse.csc_matrix((np.ones_like(values), (users, movies)), shape=shape)
    r = sparse.csc_matrix((values, (users, movies)), shape=shape)
    x_rows, r_rows = x.tocsr(), r.tocsr()
    stored = 0
    for lo in range(0, shape[1], block):
        hi = min(lo + block, shape[1])
        stored += (x[:, lo:hi].T.tocsr() @ x_rows).nnz
        stored += (r[:, lo:hi].T.tocsr() @ r_rows).nnz
    seconds = time.monotonic() - started
    print(
        f"scipy_pairs: {len(ratings):,} ratings, {shape[1]:,} movies, XᵀX and RᵀR "
        f"({stored:,} stored entries) in {seconds:.1f} s on one core"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
