"""Multi-label scores: per-label precision, recall, F1 and PR-AUC, confusion between labels, macro-F1.

"Confusion with each other label" answers what users ask: of the posts that truly are X, how many were
also (wrongly) flagged Y? Row X, column Y counts posts with gold X, not gold Y, and predicted Y.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from vaktpost.schema import LABELS


def label_matrix(label_sets: Sequence[Sequence[str]]) -> np.ndarray:
    return np.array([[label in labels for label in LABELS] for labels in label_sets], dtype=bool)


def score_matrix(scores: Sequence[Mapping[Any, float]]) -> np.ndarray:
    return np.array([[float(s[label]) for label in LABELS] for s in scores], dtype=float)


def evaluate_scores(
    gold: Sequence[Sequence[str]], scores: Sequence[Mapping[Any, float]], thresholds: Mapping[str, float]
) -> dict[str, Any]:
    truth = label_matrix(gold)
    probs = score_matrix(scores)
    predicted = probs >= np.array([thresholds[label] for label in LABELS])
    per_label: dict[str, dict[str, float]] = {}
    for index, label in enumerate(LABELS):
        t, p = truth[:, index], predicted[:, index]
        tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        pr_auc = float(average_precision_score(t, probs[:, index])) if t.any() else 0.0
        per_label[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "pr_auc": pr_auc,
            "threshold": float(thresholds[label]),
            "support": int(t.sum()),
            "tp": tp,
            "fp": fp,
            "fn": fn,
        }
    confusion = {
        gold_label: {
            other: int((truth[:, i] & ~truth[:, j] & predicted[:, j]).sum()) for j, other in enumerate(LABELS) if j != i
        }
        for i, gold_label in enumerate(LABELS)
    }
    none = ~truth.any(axis=1)
    return {
        "examples": len(gold),
        "labels": per_label,
        "macro_f1": float(np.mean([per_label[label]["f1"] for label in LABELS])),
        "macro_pr_auc": float(np.mean([per_label[label]["pr_auc"] for label in LABELS])),
        "confusion": confusion,
        "false_flags_on_unlabelled": int((predicted[none].any(axis=1)).sum()),
        "unlabelled": int(none.sum()),
    }


def best_thresholds(gold: Sequence[Sequence[str]], scores: Sequence[Mapping[Any, float]]) -> dict[str, float]:
    """Per label, the threshold with the best F1 on these examples, placed half-way down to the next lower
    score so that it does not sit exactly on one example (ties: the higher threshold)."""
    truth = label_matrix(gold)
    probs = score_matrix(scores)
    chosen: dict[str, float] = {}
    for index, label in enumerate(LABELS):
        if not truth[:, index].any():
            chosen[label] = 1.0  # nothing to find: never flag on the strength of these examples
            continue
        candidates = np.unique(np.round(probs[:, index], 4))
        best, best_f1 = 0.5, -1.0
        for position, threshold in enumerate(candidates):
            p = probs[:, index] >= threshold
            tp = float((truth[:, index] & p).sum())
            f1 = 2 * tp / (p.sum() + truth[:, index].sum()) if p.sum() + truth[:, index].sum() else 0.0
            if f1 >= best_f1:
                below = candidates[position - 1] if position else threshold
                best, best_f1 = float((threshold + below) / 2), f1
        chosen[label] = round(best, 4)
    return chosen
