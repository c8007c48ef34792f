"""How far the known item-based models reach on a split's test part, chosen by that test part.

Reads the split table (``ml_rating_splits``) of the builds that ``quality_seeds.py`` left under
``--work`` (one ``seed-<n>`` warehouse a split seed), fits each candidate with numpy on train +
validation (binary interactions) and scores it on the test part under the evaluation's
protocol: every user with a test rating, k movies they did not rate in the fit, precision@k
and NDCG@k with binary relevance. The candidates are the strongest families of the
literature for this protocol and their simple fusions:

- EASE (Steck 2019) at several lambdas, and with a popularity-scaled diagonal (EDLAE's
  dropout emphasis, Steck 2020);
- RP3beta (Paudel et al. 2017) at several betas;
- user-kNN (cosine, k neighbours);
- z-scored score fusions of EASE with RP3beta and with user-kNN; EASE plus a popularity prior.

The best row of each seed is an oracle: it is picked by the test part itself, so it bounds
what selection on validation can serve from these families. The served table's figures are
beside it in ``ml_recommender_evaluation``.

Usage (from the project root, after ``quality_seeds.py``)::

    python benchmarks/quality_ceiling.py --seeds 42 7 2024 --work /tmp/quality
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from python_jobs.tools.warehouse import read_table_files  # noqa: E402

K = 10


def matrices(splits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The fit's binary user x movie matrix (train + validation) and the test part's."""
    users = {u: i for i, u in enumerate(np.sort(splits["user_id"].unique()))}
    movies = {m: i for i, m in enumerate(np.sort(splits["movie_id"].unique()))}
    rows, cols = splits["user_id"].map(users), splits["movie_id"].map(movies)
    fit = np.zeros((len(users), len(movies)))
    test = np.zeros((len(users), len(movies)), dtype=bool)
    held = (splits["split"] == "test").to_numpy()
    fit[rows[~held], cols[~held]] = 1.0
    test[rows[held], cols[held]] = True
    return fit, test


def precision_ndcg(scores: np.ndarray, fit: np.ndarray, test: np.ndarray) -> tuple[float, float]:
    """Mean precision@K and NDCG@K over the users with a test rating (fit movies excluded)."""
    scores = np.where(fit > 0, -np.inf, scores)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    hits = np.take_along_axis(test, top, axis=1)
    n_test = test.sum(axis=1)
    evaluated = n_test > 0
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    ideal = np.cumsum(discount)[np.minimum(n_test, K) - 1]
    ndcg = (hits * discount).sum(axis=1) / ideal
    return float(hits.sum(axis=1)[evaluated].mean() / K), float(ndcg[evaluated].mean())


def ease(fit: np.ndarray, lam: float, dropout_weight: float = 0.0) -> np.ndarray:
    gram = fit.T @ fit
    gram[np.diag_indices_from(gram)] += lam + dropout_weight * np.diag(gram)
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return fit @ weights


def rp3beta(fit: np.ndarray, beta: float) -> np.ndarray:
    user_to_movie = fit / np.maximum(fit.sum(axis=1, keepdims=True), 1.0)
    movie_to_user = fit.T / np.maximum(fit.sum(axis=0)[:, None], 1.0)
    weights = (movie_to_user @ user_to_movie) / np.maximum(fit.sum(axis=0), 1.0)[None, :] ** beta
    np.fill_diagonal(weights, 0.0)
    return fit @ weights


def user_knn(fit: np.ndarray, k: int) -> np.ndarray:
    norms = np.sqrt(np.maximum(fit.sum(axis=1), 1.0))
    similarity = (fit @ fit.T) / np.outer(norms, norms)
    np.fill_diagonal(similarity, 0.0)
    beyond = np.argsort(-similarity, axis=1)[:, k:]
    np.put_along_axis(similarity, beyond, 0.0, axis=1)
    return similarity @ fit


def zscored(scores: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """Each user's scores over their unrated movies, standardized (for fusion)."""
    masked = np.where(fit > 0, np.nan, scores)
    mean = np.nanmean(masked, axis=1, keepdims=True)
    spread = np.maximum(np.nanstd(masked, axis=1, keepdims=True), 1e-12)
    return np.nan_to_num((masked - mean) / spread, nan=-1e9)


def candidates(fit: np.ndarray) -> dict[str, Callable[[], np.ndarray]]:
    ease_500 = ease(fit, 500.0)
    popularity = np.log1p(fit.sum(axis=0))[None, :]
    table: dict[str, Callable[[], np.ndarray]] = {
        f"EASE lambda {lam:g}": (lambda lam=lam: ease(fit, lam)) for lam in (250, 500, 1000)
    }
    for lam, weight in ((300, 0.1), (300, 0.25), (200, 0.25), (100, 0.5)):
        table[f"EASE lambda {lam}, diagonal +{weight} x count"] = lambda lam=lam, weight=weight: (
            ease(fit, lam, weight)
        )
    for beta in (0.0, 0.35, 0.5):
        table[f"RP3beta beta {beta}"] = lambda beta=beta: rp3beta(fit, beta)
    for k in (50, 100):
        table[f"user-kNN k {k}"] = lambda k=k: user_knn(fit, k)
    ease_z = zscored(ease_500, fit)
    for weight in (0.1, 0.2, 0.35):
        table[f"EASE 500 + {weight} RP3beta 0.35 (z-scores)"] = lambda weight=weight: (
            (1 - weight) * ease_z + weight * zscored(rp3beta(fit, 0.35), fit)
        )
        table[f"EASE 500 + {weight} user-kNN 50 (z-scores)"] = lambda weight=weight: (
            (1 - weight) * ease_z + weight * zscored(user_knn(fit, 50), fit)
        )
    for weight in (0.05, 0.1):
        table[f"EASE 500 + {weight} log popularity"] = lambda weight=weight: (
            ease_500 + weight * np.abs(ease_500).mean() * popularity
        )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    best = []
    for seed in args.seeds:
        tables = args.work / f"seed-{seed}" / "warehouse" / "movielens.db"
        fit, test = matrices(read_table_files(tables / "ml_rating_splits"))
        rows = []
        for name, scores in candidates(fit).items():
            precision, ndcg = precision_ndcg(scores(), fit, test)
            rows.append({"seed": seed, "candidate": name, "precision@10": precision,
                         "ndcg@10": ndcg})  # fmt: skip
            print(f"seed {seed}: {name}: P@10 {precision:.4f}, NDCG@10 {ndcg:.4f}", flush=True)
        frame = pd.DataFrame(rows)
        best.append(frame.loc[frame["precision@10"].idxmax()])
        best.append(frame.loc[frame["ndcg@10"].idxmax()])
    print("\nThe best candidate of each seed by each measure (chosen on the test part):")
    print(pd.DataFrame(best).drop_duplicates().to_string(index=False, float_format="%.4f"))


if __name__ == "__main__":
    main()
