"""The 2018 Data Science Bowl's scoring of predicted nuclei, and the Dice of two masks.

Usage::

    from nuclei.evaluation.metric import image_score
    score = image_score(true_labels, predicted_labels)   # in [0, 1]

For one image the score is the mean, over IoU thresholds 0.50, 0.55, ...,
0.95, of TP / (TP + FP + FN), where a predicted nucleus matches a true one
when their IoU is above the threshold. A data set's score is the mean over
its images. Label maps are integer arrays: 0 is background, each other value
one nucleus.
"""

import numpy as np

IOU_THRESHOLDS = np.round(np.arange(0.5, 1.0, 0.05), 2)


def _compact(labels):
    """Labels renumbered 0..K in increasing order (0 stays background) when their values are sparse."""
    values = np.unique(labels)
    return np.searchsorted(values, labels) + (0 if values[0] == 0 else 1)


def _overlaps(true_labels, predicted_labels):
    """(iou, predicted_ids): the IoU of every true nucleus (rows) with every predicted one (columns), in
    increasing label order, and the predicted label value of each column.

    One bincount over label pairs: linear in the pixels, no sorting of the
    image (np.unique with return_inverse sorts every pixel, which dominated
    the post-processing tuning).
    """
    true_labels = np.asarray(true_labels).ravel().astype(np.int64)
    predicted_labels = np.asarray(predicted_labels).ravel().astype(np.int64)
    for labels in (true_labels, predicted_labels):
        if labels.size and labels.min() < 0:
            raise ValueError("labels must not be negative")
    predicted_values = None
    true_count = int(true_labels.max(initial=0)) + 1
    predicted_count = int(predicted_labels.max(initial=0)) + 1
    if true_count * predicted_count > 10_000_000:
        predicted_values = np.unique(np.concatenate([[0], predicted_labels]))
        true_labels, predicted_labels = _compact(true_labels), np.searchsorted(predicted_values, predicted_labels)
        true_count = int(true_labels.max(initial=0)) + 1
        predicted_count = int(predicted_labels.max(initial=0)) + 1
    counts = np.bincount(
        true_labels * predicted_count + predicted_labels, minlength=true_count * predicted_count
    ).reshape(true_count, predicted_count)
    true_areas = counts.sum(axis=1)
    predicted_areas = counts.sum(axis=0)
    rows = np.flatnonzero(true_areas[1:]) + 1
    columns = np.flatnonzero(predicted_areas[1:]) + 1
    intersection = counts[np.ix_(rows, columns)]
    union = true_areas[rows, None] + predicted_areas[None, columns] - intersection
    predicted_ids = columns if predicted_values is None else predicted_values[columns]
    return intersection / np.maximum(union, 1), predicted_ids


def iou_matrix(true_labels: np.ndarray, predicted_labels: np.ndarray) -> np.ndarray:
    """IoU of every true nucleus (rows) with every predicted one (columns), in increasing label order."""
    return _overlaps(true_labels, predicted_labels)[0]


def precision_at(iou: np.ndarray, threshold: float) -> float:
    """TP / (TP + FP + FN) at one IoU threshold, given an iou_matrix."""
    matches = iou > threshold
    true_positives = np.count_nonzero(matches.any(axis=1))
    false_negatives = iou.shape[0] - true_positives
    false_positives = iou.shape[1] - np.count_nonzero(matches.any(axis=0))
    total = true_positives + false_positives + false_negatives
    return true_positives / total if total else 1.0


def image_score(true_labels: np.ndarray, predicted_labels: np.ndarray) -> float:
    """The competition score of one image: mean precision_at over IOU_THRESHOLDS.

    Both empty scores 1.0 (nothing to find, nothing found); exactly one
    empty scores 0.0. IoU above 0.5 makes matches one-to-one, so no
    assignment problem needs solving.
    """
    return _score_of(iou_matrix(true_labels, predicted_labels))


def _score_of(iou):
    return float(np.mean([precision_at(iou, threshold) for threshold in IOU_THRESHOLDS]))


def image_scores_of_subsets(true_labels: np.ndarray, predicted_labels: np.ndarray, keeps) -> list[float]:
    """image_score(true_labels, P) for each keep, where P holds only the predicted nuclei that keep marks.

    Each keep is a boolean array indexed by predicted label value (0 to the
    largest label; nuclei.prediction.instances.kept_nuclei makes them). Equal to erasing the
    other nuclei and scoring, at the cost of one scoring: dropping a
    predicted nucleus removes its column from the IoU matrix and changes no other.
    """
    iou, predicted_ids = _overlaps(true_labels, predicted_labels)
    return [_score_of(iou[:, np.asarray(keep, dtype=bool)[predicted_ids]]) for keep in keeps]


def dice(true_mask: np.ndarray, predicted_mask: np.ndarray) -> float:
    """Dice coefficient of two binary masks; 1.0 when both are empty."""
    true_mask = np.asarray(true_mask, dtype=bool)
    predicted_mask = np.asarray(predicted_mask, dtype=bool)
    total = np.count_nonzero(true_mask) + np.count_nonzero(predicted_mask)
    if total == 0:
        return 1.0
    return 2.0 * np.count_nonzero(true_mask & predicted_mask) / total
