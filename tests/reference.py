"""Textbook reference implementations the tests compare the project's results with."""

from __future__ import annotations

import math

import numpy as np


def reference_ranking(recommended, relevant, k):
    """Textbook definitions, one user at a time."""
    precision, recall, ndcg, ap = [], [], [], []
    for user, truth in relevant.items():
        top = recommended.get(user, [])[:k]
        hits = [1 if movie in truth else 0 for movie in top]
        precision.append(sum(hits) / k)
        recall.append(sum(hits) / len(truth))
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        idcg = sum(1 / math.log2(i + 2) for i in range(min(len(truth), k)))
        ndcg.append(dcg / idcg)
        precisions_at_hits = [sum(hits[: i + 1]) / (i + 1) for i, h in enumerate(hits) if h]
        ap.append(sum(precisions_at_hits) / min(len(truth), k))
    return {
        "precision_at_k": float(np.mean(precision)),
        "recall_at_k": float(np.mean(recall)),
        "ndcg_at_k": float(np.mean(ndcg)),
        "map_at_k": float(np.mean(ap)),
        "n_users_evaluated": len(relevant),
    }
