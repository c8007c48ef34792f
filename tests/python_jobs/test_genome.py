"""python_jobs.genome (the tag genome's nearest neighbours) against pair-by-pair cosines
written with Python loops and math, on a genome with missing tags, a repeated line, an
all-zero movie, tied cosines and more anchors than one block."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from python_jobs import genome


def _genome(movies: int, tags: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (movie * 3 + 2, tag * 5 + 1, round(float(rng.random()), 5))
        for movie in range(movies)
        for tag in range(tags)
        if rng.random() < 0.8  # some tags missing: they count 0
    ]
    return pd.DataFrame(rows, columns=["movie_id", "tag_id", "relevance"])


def _loop_neighbours(scores: pd.DataFrame, k: int) -> list[tuple[int, int, float, int]]:
    vectors: dict[int, dict[int, float]] = {}
    for movie, tag, value in scores.itertuples(index=False):
        if pd.isna(value):
            continue
        by_tag = vectors.setdefault(int(movie), {})
        by_tag[int(tag)] = max(by_tag.get(int(tag), 0.0), float(value))
    norms = {m: math.sqrt(sum(v * v for v in t.values())) for m, t in vectors.items()}
    movies = sorted(m for m in vectors if norms[m] > 0)
    expected = []
    for anchor in movies:
        scored = []
        for other in movies:
            if other != anchor:
                dot = sum(v * vectors[other].get(t, 0.0) for t, v in vectors[anchor].items())
                scored.append((dot / (norms[anchor] * norms[other]), other))
        scored.sort(key=lambda pair: (-round(pair[0], 12), pair[1]))
        for rank, (cosine, other) in enumerate(scored[:k], start=1):
            expected.append((anchor, other, cosine, rank))
    return expected


def _as_rows(frame: pd.DataFrame) -> list[tuple[int, int, float, int]]:
    return [
        (int(a), int(b), float(c), int(r))
        for a, b, c, r in frame[genome.NEIGHBOUR_COLUMNS].itertuples(index=False)
    ]


def _assert_equal(actual: list, expected: list) -> None:
    assert [(a, b, r) for a, b, _, r in actual] == [(a, b, r) for a, b, _, r in expected]
    np.testing.assert_allclose([c for _, _, c, _ in actual], [c for _, _, c, _ in expected],
                               rtol=0, atol=1e-12)  # fmt: skip


def test_neighbours_equal_loop_cosines_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    scores = _genome(movies=45, tags=12, seed=3)
    # a repeated line (the larger relevance counts), a null, an all-zero movie
    scores = pd.concat(
        [
            scores,
            pd.DataFrame(
                {
                    "movie_id": [2, 2, 500, 500],
                    "tag_id": [1, 6, 1, 6],
                    "relevance": [0.99, None, 0.0, 0.0],
                }
            ),
        ],
        ignore_index=True,
    )
    monkeypatch.setattr(genome, "BLOCK", 8)  # several blocks, the last one short
    actual = _as_rows(genome.genome_neighbours(scores, 7))
    expected = _loop_neighbours(scores, 7)
    _assert_equal(actual, expected)
    assert 500 not in {a for a, *_ in actual} | {b for _, b, *_ in actual}
    assert len(actual) == 45 * 7


def test_tied_cosines_rank_the_smaller_id_first_and_k_beyond_the_movies() -> None:
    # 20, 30 and 40 are the same direction: tied cosines with any anchor
    scores = pd.DataFrame(
        {
            "movie_id": [10, 10, 20, 20, 30, 30, 40, 40],
            "tag_id": [1, 2, 1, 2, 1, 2, 1, 2],
            "relevance": [1.0, 0.0, 0.3, 0.6, 0.1, 0.2, 0.5, 1.0],
        }
    )
    actual = _as_rows(genome.genome_neighbours(scores, 10))
    _assert_equal(actual, _loop_neighbours(scores, 10))
    assert [b for a, b, _, _ in actual if a == 10] == [20, 30, 40]
    assert [b for a, b, _, _ in actual if a == 30] == [20, 40, 10]


def test_an_empty_genome_and_a_bad_k() -> None:
    empty = pd.DataFrame({"movie_id": [], "tag_id": [], "relevance": []})
    assert genome.genome_neighbours(empty, 5).empty
    with pytest.raises(ValueError, match="genome_neighbours must be >= 1"):
        genome.genome_neighbours(_genome(3, 2, 1), 0)
