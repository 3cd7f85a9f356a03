"""Scoring predicted nuclei against labelled images, and summarising the scores per image type.

Usage::

    from nuclei.evaluation.scores import score_labels, summarise, format_summary
    rows = [{"image_type": kind, **score_labels(truth, predicted)} for ...]
    print(format_summary(summarise(rows, "score"), "competition score"))

Scores are the competition's (nuclei.evaluation.metric.image_score) and the
Dice of the union masks, both in [0, 1].
"""

from typing import Any

import numpy as np

from nuclei.evaluation.metric import dice, image_score


def score_labels(true_labels: np.ndarray, predicted_labels: np.ndarray) -> dict[str, Any]:
    """Dice of the union masks, competition score, and nucleus counts of one image."""
    return {
        "dice": dice(true_labels > 0, predicted_labels > 0),
        "score": image_score(true_labels, predicted_labels),
        "predicted_nuclei": int(predicted_labels.max()),
        "true_nuclei": len(np.unique(true_labels)) - (1 if (true_labels == 0).any() else 0),
    }


def summarise(rows: list[dict], key: str, group: str = "image_type") -> dict[str, tuple[float, int]]:
    """Mean of rows[key] overall and per group value: {"all": (mean, n), group_value: (mean, n), ...}."""
    summary = {"all": (float(np.mean([row[key] for row in rows])) if rows else float("nan"), len(rows))}
    for value in sorted({row[group] for row in rows}):
        members = [row[key] for row in rows if row[group] == value]
        summary[value] = (float(np.mean(members)), len(members))
    return summary


def format_summary(summary: dict[str, tuple[float, int]], label: str) -> str:
    """One line: 'label: 0.512 overall (60), fluorescence 0.55 (50), ...'."""
    overall, count = summary["all"]
    parts = [f"{name} {mean:.3f} ({n})" for name, (mean, n) in summary.items() if name != "all"]
    return f"{label}: {overall:.3f} overall ({count})" + (", " + ", ".join(parts) if parts else "")
