"""EASE, the closed-form item-item model of Steck, "Embarrassingly Shallow Autoencoders for
Sparse Data" (WWW 2019), over the binary user x movie matrix.

With ``X`` the binary matrix of who rated what, ``G = XᵀX`` is the co-rater count of every
movie pair (the ``num_pairs`` of the pair aggregates, with each movie's rating count on the
diagonal). EASE's weights are ``B = I - P·diag(1/diag(P))`` with ``P = (G + λI)⁻¹``: a
ridge regression of every movie's column on all the others, its diagonal forced to zero.
A user's scores are their row of ``X·B``.

Size. ``P`` and ``B`` are dense ``n x n`` float64 matrices (``8·n²`` bytes each) held on
the driver, so only the ``max_movies`` most-rated movies are modelled (``ease_max_movies``);
the rest can be neither recommended nor used as evidence. :func:`fit_weights` computes ``P``
in whichever of two exact forms is cheaper:

* more users than movies: the Cholesky inverse of ``G + λI``, ``O(n³)`` (seconds for 6,000
  movies on two cores, minutes for 18,000);
* fewer users than movies (ml-latest-small: 610 users, 6,000 modelled movies): Woodbury's
  identity ``(XᵀX + λI)⁻¹ = (I - Xᵀ(XXᵀ + λI)⁻¹X)/λ``, one ``users x users`` Cholesky
  and an ``O(users·n²)`` product, about 12 times faster there.

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

__all__ = ["Interactions", "dual_ease_weights", "ease_weights", "fit_weights", "top_n"]


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


def dual_ease_weights(matrix: scipy.sparse.spmatrix, lam: float) -> np.ndarray:
    """EASE's ``B`` for the binary ``users x movies`` matrix ``X``, through Woodbury's identity.

    With ``Q = Xᵀ(XXᵀ + λI)⁻¹X``, ``P = (I - Q)/λ``, so ``B[i, j] = Q[i, j] / (1 - Q[j, j])``
    off the diagonal: the same weights as :func:`ease_weights` of ``XᵀX``, for the cost of a
    ``users x users`` Cholesky factor ``L`` and ``Q = ZᵀZ`` with ``Z = L⁻¹X``.
    """
    if not lam > 0:
        raise ValueError(f"lambda must be > 0, got {lam!r}")
    dense = np.asarray(matrix.toarray(), dtype=np.float64)
    kernel = dense @ dense.T
    kernel[np.diag_indices_from(kernel)] += lam
    try:
        factor = scipy.linalg.cholesky(kernel, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as error:
        raise np.linalg.LinAlgError(f"XXᵀ + λI is not positive definite ({error})") from None
    whitened = scipy.linalg.solve_triangular(factor, dense, lower=True, check_finite=False)
    projection = whitened.T @ whitened
    weights = projection / (1.0 - np.diag(projection))
    np.fill_diagonal(weights, 0.0)
    return weights


def fit_weights(matrix: scipy.sparse.spmatrix, lam: float) -> np.ndarray:
    """EASE's ``B`` for the binary matrix ``X``: the primal form (:func:`ease_weights` of
    ``XᵀX``) when ``X`` has at least as many rows (users) as columns (movies), else the
    dual one (:func:`dual_ease_weights`). Both are exact; this picks the cheaper."""
    users, movies = matrix.shape
    if users < movies:
        return dual_ease_weights(matrix, lam)
    return ease_weights((matrix.T @ matrix).toarray(), lam)


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
