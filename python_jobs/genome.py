"""The tag genome's nearest neighbours: ``int_genome_neighbours``.

The tag genome (``genome-scores.csv`` of ml-latest, ML-20M and ML-25M; Vig, Sen and Riedl,
"The Tag Genome", ACM TiiS 2012) gives every covered movie a relevance in [0, 1] for each of
its tags (1,128 in the real releases). Two movies are as alike as the cosine of their
relevance vectors (a tag missing for a movie counts 0; an all-zero vector has no
neighbours). For every covered movie this module keeps its ``k`` most similar other covered
movies, ranked by cosine (to 12 decimals), then the smaller movie id.

In numpy, in one Spark task (:func:`python_jobs.tasks.run_jobs`): the unit vectors are a
dense ``movies x tags`` float64 array (125 MB for ML-25M's 13,816 movies and 1,128 tags), and
the cosines are computed ``BLOCK`` anchors at a time (``BLOCK x movies`` float64, 113 MB at
ML-25M's size). The same cosines in Spark SQL's higher-order functions, over the candidate
pairs of the content lists, took minutes (docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, SCORE
from python_jobs.scopes import JOB
from python_jobs.tasks import run_jobs

TAG_ID = "tag_id"
RELEVANCE = "relevance"
SIMILAR_MOVIE_ID = "similar_movie_id"
NEIGHBOUR_RANK = "neighbour_rank"
NEIGHBOUR_COLUMNS = [MOVIE_ID, SIMILAR_MOVIE_ID, SCORE, NEIGHBOUR_RANK]
NEIGHBOUR_SCHEMA = "movie_id int, similar_movie_id int, score double, neighbour_rank int"
BLOCK = 1024


def unit_vectors(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The covered movies' ids (ascending) and their unit relevance vectors, one row each,
    from a frame of (``movie_id``, ``tag_id``, ``relevance``). Rows with a null are left out;
    a repeated (movie, tag) counts its largest relevance (the staging tests flag it); movies
    whose vector is all zero are left out."""
    scores = scores[[MOVIE_ID, TAG_ID, RELEVANCE]].dropna()
    relevance = scores.groupby([MOVIE_ID, TAG_ID])[RELEVANCE].max()
    movie_ids, rows = np.unique(relevance.index.get_level_values(MOVIE_ID), return_inverse=True)
    _, cols = np.unique(relevance.index.get_level_values(TAG_ID), return_inverse=True)
    vectors = np.zeros((len(movie_ids), int(cols.max()) + 1 if len(cols) else 0))
    vectors[rows, cols] = relevance.to_numpy(dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    kept = norms > 0
    return movie_ids[kept].astype(np.int64), vectors[kept] / norms[kept, None]


def genome_neighbours(scores: pd.DataFrame, k: int) -> pd.DataFrame:
    """Every covered movie's ``k`` nearest other covered movies: NEIGHBOUR_COLUMNS."""
    if k < 1:
        raise ValueError(f"genome_neighbours must be >= 1, got {k}")
    movie_ids, unit = unit_vectors(scores)
    n = len(movie_ids)
    depth = min(k, n - 1)
    parts = [
        pd.DataFrame(
            {
                MOVIE_ID: pd.Series([], dtype=np.int32),
                SIMILAR_MOVIE_ID: pd.Series([], dtype=np.int32),
                SCORE: pd.Series([], dtype=np.float64),
                NEIGHBOUR_RANK: pd.Series([], dtype=np.int32),
            }
        )
    ]
    for start in range(0, n if depth >= 1 else 0, BLOCK):
        cosine = unit[start : start + BLOCK] @ unit.T
        rows = np.arange(cosine.shape[0])
        cosine[rows, rows + start] = -np.inf  # never a movie itself
        rounded = np.round(cosine, 12)
        # Everything at least as high as the depth-th highest (ties included), then exact
        # order: higher cosine, then the smaller id (ids ascend with the column).
        kth = -np.partition(-rounded, depth - 1, axis=1)[:, depth - 1]
        anchor, col = np.nonzero(rounded >= kth[:, None])
        order = np.lexsort((col, -rounded[anchor, col], anchor))
        anchor, col = anchor[order], col[order]
        rank = np.arange(len(anchor)) - np.searchsorted(anchor, anchor, side="left") + 1
        kept = rank <= depth
        anchor, col, rank = anchor[kept], col[kept], rank[kept]
        parts.append(
            pd.DataFrame(
                {
                    MOVIE_ID: movie_ids[anchor + start].astype(np.int32),
                    SIMILAR_MOVIE_ID: movie_ids[col].astype(np.int32),
                    SCORE: cosine[anchor, col],
                    NEIGHBOUR_RANK: rank.astype(np.int32),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[NEIGHBOUR_COLUMNS]


def _task(k: int, frame: pd.DataFrame) -> pd.DataFrame:
    return genome_neighbours(frame, k)


def genome_neighbours_table(genome_scores: DataFrame, *, k: int) -> DataFrame:
    """:func:`genome_neighbours` of the whole genome in one Spark task; an empty genome gives
    an empty table."""
    if int(k) < 1:
        raise ValueError(f"genome_neighbours must be >= 1, got {k!r}")
    rows = genome_scores.select(
        sf.lit(0).alias(JOB),
        sf.col(MOVIE_ID).cast("long").alias(MOVIE_ID),
        sf.col(TAG_ID).cast("long").alias(TAG_ID),
        sf.col(RELEVANCE).cast("double").alias(RELEVANCE),
    )
    if rows.isEmpty():  # most data sets: no Python task for nothing
        return genome_scores.sparkSession.createDataFrame([], NEIGHBOUR_SCHEMA)
    neighbours = run_jobs(rows, {0: int(k)}, _task, NEIGHBOUR_SCHEMA)
    return neighbours.select(*NEIGHBOUR_COLUMNS)
