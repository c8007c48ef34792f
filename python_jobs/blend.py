"""The blend: a weighted fusion of the other recommenders' lists, weights tuned on validation.

Each recommender's list of a user (``blend_depth`` deep) is normalised on its own: the
list's scores mapped linearly onto [0.01, 1] (the lowest listed movie 0.01, the highest 1,
all 1 when they are equal), a movie the list does not hold 0. A movie's fused score is the
weighted sum of its normalised scores; the blend lists the user's ``depth`` movies with the
highest fused score (ties: the lower movie id). Every list already leaves out the movies the
user rated in its fit, and all the recommenders' lists of one purpose share that fit, so
the blend's do too. It reads the recommenders' tables and refits nothing.

Weights (>= 0, summing to 1) are searched for the best mean NDCG@k over the validation
carvings (the fused validation lists against each carving's validation ratings): every point
of the simplex in steps of 0.1, then steps of 0.05 from the best point while one improves.
The spread the service's choice weighs (:mod:`python_jobs.selection`) must not be the
blend's own in-sample optimism, so each
carving's validation NDCG is that of the weights tuned on the *other* carvings
(leave-one-carving-out); with one carving there is no other, and the in-sample figure stands.

Score fusion of this kind (CombSUM of normalised scores, Fox and Shaw 1994) is the simplest
of the ensembles Vente, Mehta, Wegmeth and Beel (2024) compare; on these lists it matched
the reciprocal-rank fusion and greedy ensemble selection tried beside it (docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from python_jobs.columns import MOVIE_ID, RANK, RECOMMENDER, SCORE, USER_ID

WEIGHT_STEPS = 20  # the fine step of the weights' search, 0.05
COARSE_STEPS = 10  # its first grid, in steps of 0.1
FLOOR = 0.01  # the normalised score of a list's last movie: above any unlisted movie


def simplex(n: int, steps: int = WEIGHT_STEPS) -> np.ndarray:
    """Every weight vector of ``n`` non-negative multiples of ``1 / steps`` summing to 1, in
    lexicographic order of the integer steps (the first component's largest first)."""
    points = [
        cut for cut in itertools.product(range(steps, -1, -1), repeat=n - 1) if sum(cut) <= steps
    ]
    grid = np.array([[*cut, steps - sum(cut)] for cut in points], dtype=np.float64)
    return grid / steps


def normalised(scores: np.ndarray) -> np.ndarray:
    """A list's scores mapped onto [FLOOR, 1]: lowest FLOOR, highest 1 (all 1 if equal)."""
    low, high = scores.min(), scores.max()
    if high <= low:
        return np.ones_like(scores)
    return FLOOR + (1.0 - FLOOR) * (scores - low) / (high - low)


class Candidates:
    """The users' candidate movies (every movie some recommender lists for them) with each
    recommender's normalised score, as one padded matrix per recommender.

    Attributes
    ----------
    users
        ``(n_users,)`` user ids, ascending.
    movies
        ``(n_users, width)`` candidate movie ids, -1 for padding.
    features
        ``(n_recommenders, n_users, width)`` normalised scores (0 where not listed).
    """

    def __init__(self, lists: pd.DataFrame, recommenders: Sequence[str]) -> None:
        frame = lists[lists[RECOMMENDER].isin(recommenders)].copy()
        frame["_norm"] = frame.groupby([RECOMMENDER, USER_ID])[SCORE].transform(
            lambda values: normalised(values.to_numpy(dtype=np.float64))
        )
        pairs = frame[[USER_ID, MOVIE_ID]].drop_duplicates().sort_values([USER_ID, MOVIE_ID])
        self.users = pairs[USER_ID].unique()
        user_index = np.searchsorted(self.users, pairs[USER_ID].to_numpy())
        counts = np.bincount(user_index, minlength=len(self.users))
        width = int(counts.max()) if len(counts) else 0
        slot = np.arange(len(pairs)) - np.repeat(np.cumsum(counts) - counts, counts)
        self.movies = np.full((len(self.users), width), -1, dtype=np.int64)
        self.movies[user_index, slot] = pairs[MOVIE_ID].to_numpy()
        position = pd.Series(slot, index=pd.MultiIndex.from_frame(pairs))
        self.features = np.zeros((len(recommenders), len(self.users), width))
        for number, name in enumerate(recommenders):
            own = frame[frame[RECOMMENDER] == name]
            rows = np.searchsorted(self.users, own[USER_ID].to_numpy())
            cols = position.loc[list(zip(own[USER_ID], own[MOVIE_ID], strict=True))].to_numpy()
            self.features[number, rows, cols] = own["_norm"].to_numpy()

    def top(self, weights: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Each user's ``depth`` best candidates under ``weights``: movie ids (-1 past the
        candidates) and fused scores; ties go to the lower movie id."""
        fused = np.tensordot(weights, self.features, axes=1)
        fused = np.where(self.movies >= 0, fused, -np.inf)
        depth = min(depth, self.movies.shape[1])
        # lower movie id first among equal scores: sort by (-score, movie id)
        order = np.lexsort((self.movies, -fused), axis=1)[:, :depth]
        movies = np.take_along_axis(self.movies, order, axis=1)
        scores = np.take_along_axis(fused, order, axis=1)
        movies[~np.isfinite(scores)] = -1
        return movies, scores


def scored_grid(
    candidates: Candidates, relevant: Mapping[int, set[int]], points: np.ndarray, k: int
) -> np.ndarray:
    """NDCG@k (as :mod:`python_jobs.metrics` defines it: binary relevance, the ideal DCG of
    min(|R|, k) hits) of every weight vector of ``points`` on one carving, averaged over the
    users with a relevant movie; such a user with no candidate counts 0."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    wanted = [relevant.get(int(user), set()) for user in candidates.users]
    hit = np.array(
        [[movie in movies for movie in row] for row, movies in zip(candidates.movies, wanted,
                                                                   strict=True)],
        dtype=np.float64,
    ).reshape(candidates.movies.shape)  # fmt: skip
    ideal = np.array([discounts[: min(len(movies), k)].sum() for movies in wanted])
    scored = ideal > 0
    n_users = len(relevant)  # every user with a relevant movie, listed or not
    movies, hit, ideal = candidates.movies[scored], hit[scored], ideal[scored]
    features = candidates.features[:, scored]
    depth = min(k, movies.shape[1])
    values = np.empty(len(points))
    for number, weights in enumerate(points):
        fused = np.where(movies >= 0, np.tensordot(weights, features, axes=1), -np.inf)
        order = np.lexsort((movies, -fused), axis=1)[:, :depth]
        gains = np.take_along_axis(hit, order, axis=1) @ discounts[:depth]
        values[number] = (gains / ideal).sum() / n_users if n_users else 0.0
    return values


def _search(score, n: int, coarse: int = COARSE_STEPS, fine: int = WEIGHT_STEPS) -> np.ndarray:
    """The weights maximising ``score`` (a function of an array of weight vectors, returning
    one value each): the best point of the coarse simplex grid, then moves of ``1 / fine``
    from one component to another while one improves (the best move each time; ties to the
    earlier point). Deterministic; about 300 evaluations for four recommenders."""
    points = simplex(n, coarse)
    values = score(points)
    current = points[int(np.argmax(values))]
    best = float(values.max())
    step = 1.0 / fine
    while True:
        moves = []
        for give, take in itertools.permutations(range(n), 2):
            if current[give] >= step - 1e-12:
                moved = current.copy()
                moved[give] -= step
                moved[take] += step
                moves.append(np.round(moved * fine) / fine)
        if not moves:
            return current
        candidates = np.array(moves)
        values = score(candidates)
        if values.max() <= best + 1e-12:
            return current
        best = float(values.max())
        current = candidates[int(np.argmax(values))]


def tune_weights(
    carvings: Mapping[int, tuple[Candidates, Mapping[int, set[int]]]],
    recommenders: Sequence[str],
    k: int,
) -> pd.DataFrame:
    """The blend's tuning table: one row per carving with the weights tuned on the other
    carvings and their NDCG@k on this one (in-sample when there is one carving), and a final
    row (``carving`` null) with the weights tuned on every carving and their mean NDCG@k."""
    numbers = sorted(carvings)
    cache: dict[tuple[int, tuple[float, ...]], float] = {}

    def on(carving_numbers: list[int]):
        def score(points: np.ndarray) -> np.ndarray:
            totals = np.zeros(len(points))
            for carving in carving_numbers:
                todo = [p for p in points if (carving, tuple(p)) not in cache]
                if todo:
                    values = scored_grid(*carvings[carving], np.array(todo), k)
                    cache.update(
                        {(carving, tuple(p)): v for p, v in zip(todo, values, strict=True)}
                    )
                totals += [cache[(carving, tuple(p))] for p in points]
            return totals / len(carving_numbers)

        return score

    records = []
    for carving in numbers:
        others = [c for c in numbers if c != carving] or [carving]
        weights = _search(on(others), len(recommenders))
        records.append(
            {
                "carving": carving,
                "weights": _weights_json(recommenders, weights),
                "ndcg_at_k": float(on([carving])(weights[None, :])[0]),
                "held_out": len(numbers) > 1,
            }
        )
    weights = _search(on(numbers), len(recommenders))
    records.append(
        {
            "carving": None,
            "weights": _weights_json(recommenders, weights),
            "ndcg_at_k": float(on(numbers)(weights[None, :])[0]),
            "held_out": False,
        }
    )
    return pd.DataFrame(records)


def _weights_json(recommenders: Sequence[str], weights: np.ndarray) -> str:
    return json.dumps(
        {name: round(float(w), 6) for name, w in zip(recommenders, weights, strict=True)},
        sort_keys=True,
    )


def fused_lists(lists: pd.DataFrame, weights: Mapping[str, float], depth: int) -> pd.DataFrame:
    """The blend's lists from the recommenders' (``recommender``, ``user_id``, ``movie_id``,
    ``score``) with ``weights``: ``user_id``, ``movie_id``, ``score``, RANK."""
    names = sorted(weights)
    candidates = Candidates(lists, names)
    if len(candidates.users) == 0:
        return pd.DataFrame({USER_ID: [], MOVIE_ID: [], SCORE: [], RANK: []})
    movies, scores = candidates.top(np.array([weights[n] for n in names]), depth)
    keep = movies >= 0
    return pd.DataFrame(
        {
            USER_ID: np.repeat(candidates.users, movies.shape[1])[keep.ravel()],
            MOVIE_ID: movies[keep],
            SCORE: scores[keep],
            RANK: np.tile(np.arange(1, movies.shape[1] + 1), len(movies))[keep.ravel()],
        }
    )
