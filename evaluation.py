"""Scoring predictions against labelled images, and tuning the post-processing on a validation split.

Usage::

    from evaluation import tune_postprocessing, summarise
    best, table = tune_postprocessing(probability_maps, true_label_maps)
    print(summarise(rows, "score"))

Scores are the competition's (competition_metric.image_score) and the Dice of
the union masks, both in [0, 1].
"""

import itertools

import numpy as np

import instances
from competition_metric import dice, image_score, image_scores_of_subsets

TUNING_GRID = {
    "connected_components": {"threshold": (0.4, 0.5, 0.6)},
    "border_watershed": {"threshold": (0.4, 0.5, 0.6), "border_threshold": (0.3, 0.5, 0.7)},
}
MIN_SIZES = (0, 15, 40)
MIN_CONFIDENCES = (0.0, 0.8, 0.85, 0.9)
"""Mean nucleus probabilities below which a nucleus is dropped; 0.0 keeps every one."""


def score_labels(true_labels, predicted_labels):
    """Dice of the union masks, competition score, and nucleus counts of one image."""
    return {
        "dice": dice(true_labels > 0, predicted_labels > 0),
        "score": image_score(true_labels, predicted_labels),
        "predicted_nuclei": int(predicted_labels.max()),
        "true_nuclei": len(np.unique(true_labels)) - (1 if (true_labels == 0).any() else 0),
    }


def _candidates():
    for method, grid in TUNING_GRID.items():
        names = sorted(grid)
        for values in itertools.product(*(grid[name] for name in names)):
            yield {"method": method, **dict(zip(names, values))}


def tune_postprocessing(probability_maps, true_label_maps):
    """Pick the post-processing with the best mean competition score over the given images.

    Returns ``(best_parameters, table)``, where table has one row per
    candidate (its parameters and mean score), best first. Each labelling is
    computed and matched to the truth once; the minimum sizes and
    confidences drop columns of its IoU matrix.
    """
    filters = list(itertools.product(MIN_SIZES, MIN_CONFIDENCES))
    totals = {}
    for probabilities, truth in zip(probability_maps, true_label_maps):
        for candidate in _candidates():
            labels = instances.label_nuclei(probabilities, {**candidate, "min_size": 0})
            areas, confidences = instances.nucleus_statistics(labels, probabilities[..., 0])
            keeps = [instances.kept_nuclei(areas, confidences, *limits) for limits in filters]
            for (min_size, min_confidence), score in zip(filters, image_scores_of_subsets(truth, labels, keeps)):
                key = tuple(sorted({**candidate, "min_size": min_size, "min_confidence": min_confidence}.items()))
                totals[key] = totals.get(key, 0.0) + score
    count = max(len(true_label_maps), 1)
    table = sorted(
        ({**dict(key), "score": total / count} for key, total in totals.items()),
        key=lambda row: -row["score"],
    )
    best = {name: value for name, value in table[0].items() if name != "score"}
    return best, table


def best_per_method(table):
    """The best row of each post-processing method in a tune_postprocessing table."""
    best = {}
    for row in table:
        best.setdefault(row["method"], row)
    return best


def summarise(rows, key, group="image_type"):
    """Mean of rows[key] overall and per group value: {"all": (mean, n), group_value: (mean, n), ...}."""
    summary = {"all": (float(np.mean([row[key] for row in rows])) if rows else float("nan"), len(rows))}
    for value in sorted({row[group] for row in rows}):
        members = [row[key] for row in rows if row[group] == value]
        summary[value] = (float(np.mean(members)), len(members))
    return summary


def format_summary(summary, label):
    """One line: 'label: 0.512 overall (60), fluorescence 0.55 (50), ...'."""
    overall, count = summary["all"]
    parts = [f"{name} {mean:.3f} ({n})" for name, (mean, n) in summary.items() if name != "all"]
    return f"{label}: {overall:.3f} overall ({count})" + (", " + ", ".join(parts) if parts else "")
