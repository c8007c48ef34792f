"""EASE, the closed-form item-item model of Steck, "Embarrassingly Shallow Autoencoders for
Sparse Data" (WWW 2019), over the binary user x movie matrix.

With ``X`` the binary matrix of who rated what, ``G = XᵀX`` is the co-rater count of every
movie pair (the ``num_pairs`` of the pair aggregates, with each movie's rating count on the
diagonal). EASE's weights are ``B = I - P·diag(1/diag(P))`` with ``P = (G + λI)⁻¹``: a
ridge regression of every movie's column on all the others, its diagonal forced to zero.
A user's scores are their row of ``X·B``.

Size. ``G``, ``P`` and ``B`` are dense ``n x n`` float64 matrices (``8·n²`` bytes each) held
on the driver, and the inverse costs ``O(n³)``: about 0.3 GB and seconds for 6,000 movies,
2.5 GB and minutes on two cores for 18,000. So only the ``max_movies`` most-rated movies are
modelled (``ease_max_movies``); the rest can be neither recommended nor used as evidence.
Scoring runs in blocks of users (:mod:`python_jobs.scoring`), so the ``users x n`` score
matrix is never whole.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse

from python_jobs import scoring
from python_jobs.scoring import SCORE_BLOCK_USERS, Interactions

__all__ = ["Interactions", "ease_weights", "top_n"]


def ease_weights(gram: np.ndarray, lam: float) -> np.ndarray:
    """EASE's ``B`` for the Gram matrix ``XᵀX`` and L2 penalty ``lam`` (> 0).

    ``G + λI`` is symmetric positive definite, so its inverse comes from a Cholesky
    factorisation (LAPACK ``potrf`` + ``potri``), about half the work of a general inverse.
    """
    if not lam > 0:
        raise ValueError(f"lambda must be > 0, got {lam!r}")
    regularised = gram.astype(np.float64, copy=True)
    regularised[np.diag_indices_from(regularised)] += lam
    factor, info = scipy.linalg.lapack.dpotrf(regularised, lower=False, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"XᵀX + λI is not positive definite (potrf info {info})")
    inverse, info = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"inverting XᵀX + λI failed (potri info {info})")
    upper = np.triu(inverse)
    precision = upper + np.triu(upper, 1).T
    weights = precision / -np.diag(precision)
    np.fill_diagonal(weights, 0.0)
    return weights


def top_n(
    *,
    interactions: Interactions,
    weights: np.ndarray,
    user_ids: np.ndarray,
    top_n: int,
    block_users: int = SCORE_BLOCK_USERS,
) -> pd.DataFrame:
    """Each of ``user_ids`` gets its ``top_n`` unrated modelled movies by EASE score
    (:func:`python_jobs.scoring.blocked_top_n`; a user with no rating scores 0 everywhere
    and so gets the most-rated movies).
    """
    return scoring.blocked_top_n(
        interactions=interactions,
        scores=lambda rows, history: history @ weights,
        user_ids=user_ids,
        top_n=top_n,
        block_users=block_users,
    )
