"""Choosing the post-processing (method, thresholds, minimum size and confidence) on labelled images.

Usage::

    from nuclei.prediction.tuning import tune_postprocessing
    tuned = tune_postprocessing(probability_maps, true_label_maps)
    tuned.parameters, tuned.score, tuned.table

The training run tunes on its validation images and keeps the best in the
model folder's postprocessing.json.
"""

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from nuclei.evaluation.metric import image_scores_of_subsets
from nuclei.prediction.instances import kept_nuclei, label_nuclei, nucleus_statistics

TUNING_GRID = {
    "border_watershed": {"threshold": (0.4, 0.5, 0.6), "border_threshold": (0.3, 0.5, 0.7)},
    "connected_components": {"threshold": (0.4, 0.5, 0.6)},
}
"""The candidates, in the order that breaks ties: a watershed that can part touching nuclei before connected
components, which cannot (on a few validation images the two often score the same)."""
MIN_SIZES = (0, 15, 40)
MIN_CONFIDENCES = (0.0, 0.8, 0.85, 0.9)
"""Mean nucleus probabilities below which a nucleus is dropped; 0.0 keeps every one."""


class Tuned(NamedTuple):
    """The chosen post-processing, its mean score on the tuning images, and every candidate's, best first."""

    parameters: dict[str, Any]
    score: float
    table: list[dict[str, Any]]


def _candidates():
    for method, grid in TUNING_GRID.items():
        names = sorted(grid)
        for values in itertools.product(*(grid[name] for name in names)):
            yield {"method": method, **dict(zip(names, values))}


def tune_postprocessing(probability_maps: Sequence[np.ndarray], true_label_maps: Sequence[np.ndarray]) -> Tuned:
    """Choose the post-processing with the best mean competition score over the given images.

    The table has one row per candidate (its parameters and mean score),
    best first; equal scores keep TUNING_GRID's order. Each labelling is
    computed and matched to the truth once; the minimum sizes and
    confidences drop columns of its IoU matrix.
    """
    filters = list(itertools.product(MIN_SIZES, MIN_CONFIDENCES))
    totals = {}
    for probabilities, truth in zip(probability_maps, true_label_maps):
        for candidate in _candidates():
            labels = label_nuclei(probabilities, {**candidate, "min_size": 0})
            areas, confidences = nucleus_statistics(labels, probabilities[..., 0])
            keeps = [kept_nuclei(areas, confidences, *limits) for limits in filters]
            for (min_size, min_confidence), score in zip(filters, image_scores_of_subsets(truth, labels, keeps)):
                key = tuple(sorted({**candidate, "min_size": min_size, "min_confidence": min_confidence}.items()))
                totals[key] = totals.get(key, 0.0) + score
    count = max(len(true_label_maps), 1)
    table = sorted(
        ({**dict(key), "score": total / count} for key, total in totals.items()),
        key=lambda row: -row["score"],
    )
    best = {name: value for name, value in table[0].items() if name != "score"}
    return Tuned(best, table[0]["score"], table)


def best_per_method(table: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The best row of each post-processing method in a tune_postprocessing table."""
    best = {}
    for row in table:
        best.setdefault(row["method"], row)
    return best
