"""The cosine seed's pair aggregates as blocked sparse matrix products (``pair_engine: blocked``).

The SQL self-join (``int_movie_pairs``, ``macros/movie_pairs.sql``) is the readable definition:
per pair of movies rated by the same user, ``num_pairs`` co-raters and the sums ``sum_xy``,
``sum_xx``, ``sum_yy`` of the cosine formula. The same figures are entries of products of the
user x movie matrices:

- ``X``, binary (who rated what), ``H`` the ratings in half stars (``2·rating``, integers
  1..10: the staging checks refuse a rating off the half-star grid) and ``S = H∘H``;
- ``num_pairs = XᵀX``, ``sum_xy = HᵀH / 4``, ``sum_xx = SᵀX / 4`` and ``sum_yy = XᵀS / 4``
  (the first and last come out of one product, :func:`block_pair_scores`).

The products are exact: every entry is a sum of small integers (below 2**53), and the
division by 4 is exact in binary floating point, so the sums equal the SQL's double sums of
half-star products, and the score computed from them as the SQL computes it
(``sum_xy / (sqrt(sum_xx) * sqrt(sum_yy))``, each step one correctly rounded IEEE operation)
is the same double.

Work is split by blocks of movies: one Spark task computes the rows ``movie1`` of one block,
against the columns ``movie2 > movie1``, with scipy. Blocks are cut so that each holds about
the same number of multiply-adds (the rating pairs it produces). Every task reads the whole
eligible rating matrix, shipped once per executor as a file (``addArtifacts`` on Spark
Connect and classic sessions alike), so each Python worker holds the rating matrices,
about 60 bytes a rating, and one block's products and
rows, about 200 bytes a pair of the block (measured: 0.57 GB over the process's start for
1M ratings in blocks of 2.5M pairs); a block holds at most ``PAIRS_PER_BLOCK`` of the
possible pairs. The var ``pair_blocked_max_ratings`` bounds the ratings; beyond it
:func:`pair_scores` declines (returns None, logged) and the model's SQL, the self-join, runs.

The rows leave a task either as Arrow batches to Spark, or, when dbt writes a table on a
local session, as that table's files, written by the task with pyarrow
(:class:`BlockedPairs`).
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, RATING, USER_ID

PAIR_SCHEMA = (
    "movie1_id int, movie2_id int, num_pairs bigint, sum_xy double, sum_xx double, "
    "sum_yy double, score double"
)
# Bytes of worker memory per eligible rating (file + matrices), the figure the bound uses.
BYTES_PER_RATING = 60
# Blocks per Spark core: enough to balance the tasks, few enough that each is worth a task.
BLOCKS_PER_CORE = 4
ROWS_PER_BATCH = 500_000
# Ids up to this are indexed through a lookup table (8 bytes an id), larger ones by a sort.
MAX_LOOKUP_ID = 50_000_000
# At most about this many movie pairs a block: a block's products and rows take about 200
# bytes a pair of its worker's memory.
PAIRS_PER_BLOCK = 4_000_000
# pyarrow's codec for each of Spark's `compression` option values it writes alike, when the
# tasks write a table's files themselves (BlockedPairs.write_files).
ARROW_CODECS = {"snappy": "snappy", "zstd": "zstd", "none": "none", "uncompressed": "none"}
# Spark's codec when a table has no `compression` option (spark.sql.{parquet,orc}.compression.codec)
SPARK_DEFAULT_CODECS = {"parquet": "snappy", "orc": "zstd"}

_MATRICES: dict[str, dict] = {}
logger = logging.getLogger(__name__)


def _eligible_ratings(
    ratings: DataFrame, min_raters: int, extra: list[str] | None = None
) -> DataFrame:
    """The SQL's pruning: movies with fewer than ``min_raters`` ratings cannot pass the
    co-rater filter, so they are left out before any pair is formed."""
    eligible_movies = (
        ratings.groupBy(MOVIE_ID).count().where(sf.col("count") >= min_raters).select(MOVIE_ID)
    )
    columns = [USER_ID, MOVIE_ID, RATING, *(extra or [])]
    return ratings.select(*columns).join(eligible_movies, MOVIE_ID, "left_semi")


def block_bounds(user_index: np.ndarray, movie_index: np.ndarray, blocks: int) -> np.ndarray:
    """Cut points ``0 = b0 < b1 < ... = n_movies`` of contiguous movie blocks with about equal
    work: a rating (u, j) costs the number of u's ratings of movies after j, the pairs it
    starts. Returns at most ``blocks + 1`` distinct bounds."""
    n_movies = int(movie_index.max()) + 1 if len(movie_index) else 0
    order = np.lexsort((movie_index, user_index))
    users = user_index[order]
    row_ends = np.searchsorted(users, users, side="right")
    later = row_ends - np.arange(len(users)) - 1
    cost = np.bincount(movie_index[order], weights=later, minlength=n_movies)
    cumulative = np.concatenate([[0.0], np.cumsum(cost)])
    targets = np.linspace(0.0, cumulative[-1], blocks + 1)[1:-1]
    cuts = np.searchsorted(cumulative, targets, side="left")
    return np.unique(np.concatenate([[0], cuts, [n_movies]])).astype(np.int64)


def _load_matrices(path: str) -> dict:
    """The rating matrices of one shipped file, loaded once per Python worker: ``binary``
    (X), ``rated`` (H), ``squared`` (H∘H) and, when ``pack`` allows it, ``packed``
    (X + PACK·(H∘H), see :func:`block_pair_scores`)."""
    if path not in _MATRICES:
        _MATRICES.clear()
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files}
        users, movies = arrays["users"], arrays["movies"]
        shape = (int(users.max()) + 1, len(arrays["movie_ids"]))
        halves = arrays["half_stars"].astype(np.float64)

        def matrix(values: np.ndarray):
            return scipy.sparse.csr_matrix((values, (users, movies)), shape=shape)

        pack = _pack(shape[0])
        matrices = {
            "movie_ids": arrays["movie_ids"],
            "binary": matrix(np.ones(len(users))),
            "rated": matrix(halves),
            "squared": matrix(halves * halves),
            "pack": pack,
        }
        if pack:
            matrices["packed"] = matrix(1.0 + pack * halves * halves)
        _MATRICES[path] = matrices
    return _MATRICES[path]


def _pack(n_users: int) -> float:
    """The power of two above every co-rater count of ``n_users`` users, when a count and
    100 times it (the largest sum of squared half stars) packed as ``count + PACK·sum`` stay
    exact integers of a double (below 2**53); 0.0 when they would not."""
    pack = float(2 ** int(n_users).bit_length())
    return pack if n_users + pack * 100 * n_users < 2**53 else 0.0


def _products(matrices: dict, lo: int, hi: int, pairs: list[tuple[str, str]]) -> list:
    """``matrices[a][:, lo:hi]ᵀ · matrices[b][:, lo:]`` for each (a, b); each matrix is sliced
    once. Products of matrices that share one pattern list their entries in the same order
    (scipy's product visits the columns in an order set by the patterns alone, and no entry
    is zero: ratings are positive); :func:`_same_pattern` checks it."""
    lefts = {name: matrices[name][:, lo:hi].T.tocsr() for name in {a for a, _ in pairs}}
    rights = {name: matrices[name][:, lo:] for name in {b for _, b in pairs}}
    return [lefts[left] @ rights[right] for left, right in pairs]


def _same_pattern(products: list) -> None:
    """Products over the same ratings share the pattern of the co-rated pairs."""
    first = products[0]
    for product in products[1:]:
        if not (
            np.array_equal(product.indptr, first.indptr)
            and np.array_equal(product.indices, first.indices)
        ):
            raise AssertionError("pair products disagree on which pairs are co-rated")


def _pairs_of(
    product, counts: np.ndarray, lo: int, min_pairs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global (row, column) indices of the product's entries and the mask of the pairs kept:
    movie2 after movie1, at least ``min_pairs`` co-raters (``counts``, one per entry)."""
    rows = np.repeat(np.arange(product.shape[0]), np.diff(product.indptr)) + lo
    cols = product.indices.astype(np.int64) + lo
    return rows, cols, (cols > rows) & (counts >= min_pairs)


def block_pair_scores(path: str, lo: int, hi: int, min_pairs: int) -> pa.Table:
    """The pairs (movie1 in [lo, hi), movie2 > movie1) with at least ``min_pairs`` co-raters,
    with ``PAIR_SCHEMA``'s columns.

    Three products, not four: ``Xᵀ·(X + PACK·S)`` holds ``num_pairs + PACK·4·sum_yy`` in
    one exact double (``PACK``, a power of two above any count, splits it back exactly),
    beside ``HᵀH`` and ``SᵀX``. Without room for the packing (millions of users), four."""
    matrices = _load_matrices(path)
    pack = matrices["pack"]
    pairs = [("binary", "packed" if pack else "binary"), ("rated", "rated"), ("squared", "binary")]
    if not pack:
        pairs.append(("binary", "squared"))
    products = _products(matrices, lo, hi, pairs)
    _same_pattern(products)
    counted, sum_xy, sum_xx = products[:3]
    if pack:
        squares = np.floor(counted.data / pack)
        counts = counted.data - pack * squares
    else:
        squares, counts = products[3].data, counted.data
    rows, cols, keep = _pairs_of(counted, counts, lo, min_pairs)
    movie_ids = matrices["movie_ids"]
    sums = {
        "sum_xy": sum_xy.data[keep] / 4.0,
        "sum_xx": sum_xx.data[keep] / 4.0,
        "sum_yy": squares[keep] / 4.0,
    }
    return pa.table(
        {
            "movie1_id": movie_ids[rows[keep]].astype(np.int32),
            "movie2_id": movie_ids[cols[keep]].astype(np.int32),
            "num_pairs": counts[keep].astype(np.int64),
            **sums,
            # The SQL's expression, operation by operation: the same double.
            "score": sums["sum_xy"] / (np.sqrt(sums["sum_xx"]) * np.sqrt(sums["sum_yy"])),
        }
    )


def _ship(session: SparkSession, path: str) -> str:
    """Make ``path`` readable by every executor (classic and Spark Connect sessions alike);
    returns the name tasks find it by, through ``SparkFiles.get``."""
    session.addArtifacts(path, file=True)
    return Path(path).name


def _dense_index(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(ids, return_inverse=True)`` in linear time for the non-negative ids of
    MovieLens (a lookup table as long as the largest id; a sort beyond ``MAX_LOOKUP_ID``)."""
    if len(ids) == 0 or ids.min() < 0 or ids.max() > MAX_LOOKUP_ID:
        return np.unique(ids, return_inverse=True)
    present = np.bincount(ids) > 0
    distinct = np.flatnonzero(present)
    lookup = np.cumsum(present) - 1
    return distinct, lookup[ids]


def _blocked(
    session: SparkSession,
    frame: pd.DataFrame,
    *,
    min_raters: int,
    worker,
    schema: str,
    min_pairs: int,
    blocks: int | None,
) -> BlockedPairs | DataFrame:
    """Ship the ratings of ``frame`` (user_id, movie_id, rating) whose movie has at least
    ``min_raters`` of them, and run ``worker`` on each block of movies, one Spark task a
    block."""
    eligible = frame
    movie_ids, movie_index = _dense_index(eligible[MOVIE_ID].to_numpy())
    raters = np.bincount(movie_index, minlength=len(movie_ids))
    if (raters < min_raters).any():  # the SQL's pruning, when Spark has not done it
        eligible = eligible[raters[movie_index] >= min_raters]
        movie_ids, movie_index = _dense_index(eligible[MOVIE_ID].to_numpy())
    if eligible.empty:
        return session.createDataFrame([], schema)
    user_ids, user_index = _dense_index(eligible[USER_ID].to_numpy())
    arrays = {
        "users": user_index.astype(np.int32),
        "movies": movie_index.astype(np.int32),
        "half_stars": np.rint(eligible[RATING].to_numpy() * 2).astype(np.int8),
        "movie_ids": movie_ids.astype(np.int32),
    }
    possible_pairs = len(movie_ids) * (len(movie_ids) - 1) // 2
    tasks = blocks or max(
        BLOCKS_PER_CORE * max(1, _default_parallelism(session)),
        -(-possible_pairs // PAIRS_PER_BLOCK),
    )
    bounds = block_bounds(user_index, movie_index, tasks)
    work = Path(tempfile.mkdtemp(prefix="pair-products-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    path = work / f"ratings-{uuid.uuid4().hex}.npz"
    np.savez(path, **arrays)
    name = _ship(session, str(path))
    print(
        f"pair aggregates: {len(eligible):,} ratings of {len(user_ids):,} users and "
        f"{len(movie_ids):,} movies, {len(bounds) - 1} blocked sparse products"
    )
    block_frame = session.createDataFrame(
        pd.DataFrame({"lo": bounds[:-1], "hi": bounds[1:]})
    ).repartition(len(bounds) - 1)
    return BlockedPairs(block_frame, name, worker, min_pairs, schema)


def _block_tables(name: str, worker, min_pairs: int):
    """The function a task runs over its batches of (lo, hi) bounds: (lo, the block's pairs
    as an Arrow table) for each, from the shipped file ``name``."""

    def tables(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, pa.Table]]:
        from pyspark import SparkFiles

        local = SparkFiles.get(name)
        for batch in batches:
            for lo, hi in zip(batch["lo"].to_pylist(), batch["hi"].to_pylist(), strict=True):
                yield lo, worker(local, lo, hi, min_pairs)

    return tables


class BlockedPairs:
    """The pair rows of the blocked products, one Spark task a block of movies.

    ``to_spark()`` is the DataFrame of them (``mapInArrow``); the other DataFrame methods
    pass through to it. A dbt table model's write (``dbt_spark_oss_python.tables``) calls
    ``write_files`` instead when the table lives where the Python workers can write: each
    task then writes its block as one parquet or ORC file with pyarrow, where Spark would
    turn the Arrow batches into its rows and encode them again (docs/benchmarks.md).
    """

    def __init__(self, blocks: DataFrame, name: str, worker, min_pairs: int, schema: str):
        self._blocks = blocks
        self._tables = _block_tables(name, worker, min_pairs)  # no Spark object inside
        tables = self._tables

        def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for _, table in tables(batches):
                # Arrow batches of bounded size on their way to the JVM, straight from the
                # numpy arrays (no pandas frame in between).
                yield from table.to_batches(ROWS_PER_BATCH)

        self._frame = blocks.mapInArrow(compute, schema)

    def to_spark(self) -> DataFrame:
        return self._frame

    def __getattr__(self, attribute: str):
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self._frame, attribute)

    def write_files(self, directory: str, file_format: str, options: dict[str, str]) -> bool:
        """Write every block as a file of ``directory`` (one ``part-`` file a block, written
        under a hidden name and renamed, so a killed task leaves no partial file that Spark
        would read); False, writing nothing, for a format or option pyarrow does not write
        as Spark would."""
        codec = ARROW_CODECS.get(
            str(options.get("compression", SPARK_DEFAULT_CODECS.get(file_format, ""))).lower()
        )
        if (
            file_format not in SPARK_DEFAULT_CODECS
            or codec is None
            or set(options) - {"compression"}
        ):
            return False
        prefix = uuid.uuid4().hex
        tables = self._tables
        Path(directory).mkdir(parents=True, exist_ok=True)  # a catalog may create it lazily

        def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for lo, table in tables(batches):
                final = Path(directory) / f"part-{lo:09d}-{prefix}.{codec}.{file_format}"
                hidden = final.with_name(f".{final.name}.inprogress")
                if file_format == "parquet":
                    import pyarrow.parquet

                    pyarrow.parquet.write_table(table, hidden, compression=codec)
                else:
                    import pyarrow.orc

                    pyarrow.orc.write_table(
                        table, hidden, compression="uncompressed" if codec == "none" else codec
                    )
                hidden.rename(final)
                yield pa.RecordBatch.from_pydict({"rows": [table.num_rows]})

        written = self._blocks.mapInArrow(write, "rows bigint").collect()
        print(
            f"pair aggregates: {sum(row.rows for row in written):,} rows written as "
            f"{codec} {file_format} by the Python workers, one file a block"
        )
        return True


def _collect(ratings: DataFrame, eligible: DataFrame, max_ratings: int) -> pd.DataFrame | None:
    """The rows the blocked products need, on the driver, or None (logged) when the eligible
    ratings exceed ``max_ratings``. When even all of ``ratings`` are within the bound, they
    are collected as they are and :func:`_blocked` prunes them: a row count of the table
    instead of Spark's aggregation of every movie's raters, then a count of the eligible
    rows and their collection (docs/benchmarks.md)."""
    if ratings.count() <= max_ratings:
        return ratings.select(*eligible.columns).toPandas()
    count = eligible.count()
    if count <= max_ratings:
        return eligible.toPandas()
    logger.info(
        f"pair aggregates: {count:,} eligible ratings exceed pair_blocked_max_ratings "
        f"({max_ratings:,}, about {max_ratings * BYTES_PER_RATING / 1e9:.1f} GB of each "
        "Python worker's memory)"
    )
    return None


def pair_scores(
    session: SparkSession,
    ratings: DataFrame,
    *,
    min_raters: int,
    min_pairs: int = 1,
    max_ratings: int,
    blocks: int | None = None,
) -> BlockedPairs | DataFrame | None:
    """The pair aggregates of ``ratings`` (user_id, movie_id, rating) with ``PAIR_SCHEMA``:
    every pair of movies each rated by at least ``min_raters`` users, with at least
    ``min_pairs`` co-raters, as blocked sparse products; None (logged) when the eligible
    ratings number more than ``max_ratings``: the engine of ``int_movie_pair_scores``, whose
    SQL then runs (``dbt_spark_oss_python.engines``)."""
    eligible = _eligible_ratings(ratings, min_raters)
    collected = _collect(ratings, eligible, max_ratings)
    if collected is None:
        return None
    return _blocked(
        session,
        collected,
        min_raters=min_raters,
        worker=block_pair_scores,
        schema=PAIR_SCHEMA,
        min_pairs=min_pairs,
        blocks=blocks,
    )


def _default_parallelism(session: SparkSession) -> int:
    try:
        return int(session.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext
        return int(session.conf.get("spark.sql.shuffle.partitions", "4") or 4)


__all__ = [
    "PAIR_SCHEMA",
    "BlockedPairs",
    "block_bounds",
    "block_pair_scores",
    "pair_scores",
]
