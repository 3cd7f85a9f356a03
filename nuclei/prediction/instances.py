"""From the U-Net's probability maps to separate nuclei (label maps).

Usage::

    from nuclei.prediction.instances import label_nuclei, DEFAULT_POSTPROCESSING
    labels = label_nuclei(probabilities, DEFAULT_POSTPROCESSING)

probabilities is float (H, W, 2): channel 0 the probability of nucleus,
channel 1 of the nucleus's inner rim (nuclei.data.targets.TARGET_CHANNELS).
A semantic mask merges touching nuclei; the competition scores each one, so
the default seeds a watershed with the nucleus pixels that are away from any
rim, as the winning teams did: touching nuclei are kept apart by both rims.

Methods (the ``method`` key of the parameters):

- ``connected_components``: threshold the nucleus channel, label 8-connected blobs.
- ``border_watershed``: seeds = nucleus > threshold and rim < border_threshold,
  grown by a watershed on the nucleus probability within the thresholded mask.
- ``distance_watershed``: for one-channel models; seeds are the peaks of the
  distance transform of the thresholded mask.

Every method then drops the nuclei smaller than ``min_size`` pixels and, with
``min_confidence``, those whose mean nucleus probability is below it: the
competition counts a false nucleus at every IoU threshold and a poor match
as a false one at the higher thresholds, and faint nuclei are mostly poor
matches or phantoms (docs/quality-log.md measures which).
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.segmentation import watershed

DEFAULT_POSTPROCESSING = {
    "method": "border_watershed",
    "threshold": 0.5,
    "border_threshold": 0.5,
    "min_size": 10,
    "min_confidence": 0.0,
}
"""Used when a model folder holds no tuned thresholds. Sizes are in pixels of the original image."""


def nucleus_statistics(labels: np.ndarray, nucleus_probability: np.ndarray | None = None):
    """(areas, confidences), both indexed by label: each nucleus's pixels and its mean nucleus probability.

    Without a probability map every confidence is 1.0. Index 0 is the background.
    """
    flat = np.asarray(labels).ravel().astype(np.int64, copy=False)
    areas = np.bincount(flat)
    if nucleus_probability is None:
        return areas, np.ones(len(areas))
    sums = np.bincount(flat, weights=np.asarray(nucleus_probability, dtype=np.float64).ravel(), minlength=len(areas))
    return areas, sums / np.maximum(areas, 1)


def kept_nuclei(areas: np.ndarray, confidences: np.ndarray, min_size: int = 0, min_confidence: float = 0.0):
    """Boolean per label: the nuclei of at least min_size pixels and min_confidence mean probability (never 0)."""
    keep = (areas >= max(min_size, 1)) & (confidences >= min_confidence)
    keep[0] = False
    return keep


def keep_only(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The labels that keep marks, renumbered 1..N in their order (int32); the rest, and 0, are background."""
    keep = np.array(keep, dtype=bool)
    keep[0] = False
    lookup = np.zeros(len(keep), dtype=np.int32)
    lookup[keep] = np.arange(1, np.count_nonzero(keep) + 1)
    return lookup[np.asarray(labels).astype(np.int64, copy=False)]


def filter_small(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Drop nuclei smaller than min_size pixels and renumber the rest 1..N (int32)."""
    areas, confidences = nucleus_statistics(labels)
    return keep_only(labels, kept_nuclei(areas, confidences, min_size))


def filter_unconfident(labels: np.ndarray, nucleus_probability: np.ndarray, min_confidence: float) -> np.ndarray:
    """Drop nuclei whose mean nucleus probability is below min_confidence and renumber the rest 1..N (int32)."""
    areas, confidences = nucleus_statistics(labels, nucleus_probability)
    return keep_only(labels, kept_nuclei(areas, confidences, min_confidence=min_confidence))


def connected_components(probabilities: np.ndarray, threshold: float = 0.5, min_size: int = 0, **_) -> np.ndarray:
    """Label the 8-connected blobs of the thresholded nucleus channel."""
    mask = probabilities[..., 0] > threshold
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    return filter_small(labels, min_size)


def border_watershed(
    probabilities: np.ndarray, threshold: float = 0.5, border_threshold: float = 0.5, min_size: int = 0, **_
) -> np.ndarray:
    """Seeded watershed: seeds are nucleus pixels away from any rim (channel 1).

    Blobs of the mask that contain no seed (small nuclei eaten by their
    border) are kept as nuclei of their own.
    """
    nucleus = probabilities[..., 0]
    mask = nucleus > threshold
    seeds = mask & (probabilities[..., 1] < border_threshold)
    markers, count = ndimage.label(seeds)
    labels = watershed(-nucleus, markers, mask=mask)
    orphans, _ = ndimage.label(mask & (labels == 0))
    labels = np.where(orphans > 0, orphans + count, labels)
    return filter_small(labels, min_size)


def distance_watershed(
    probabilities: np.ndarray, threshold: float = 0.5, min_size: int = 0, min_distance: int = 4, **_
) -> np.ndarray:
    """Watershed from the peaks of the distance to background, for masks without a border channel."""
    mask = probabilities[..., 0] > threshold
    distance = ndimage.distance_transform_edt(mask)
    blobs, _ = ndimage.label(mask)
    peaks = peak_local_max(distance, min_distance=min_distance, labels=blobs, exclude_border=False)
    markers = np.zeros(mask.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-distance, markers, mask=mask)
    orphans, _ = ndimage.label(mask & (labels == 0))
    labels = np.where(orphans > 0, orphans + len(peaks), labels)
    return filter_small(labels, min_size)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "connected_components": connected_components,
    "border_watershed": border_watershed,
    "distance_watershed": distance_watershed,
}
"""The post-processing methods by the name postprocessing.json gives. Each ignores the parameters
of the others, so that a folder's parameters stay valid whatever method they name."""


def label_nuclei(probabilities: np.ndarray, parameters: dict[str, Any] | None = None) -> np.ndarray:
    """Label map (int32, 0 background, 1..N) of the nuclei in an (H, W, C) probability map.

    parameters: "method" (a key of METHODS), "min_confidence", and the
    method's own keyword arguments; the defaults where None.
    """
    parameters = dict(DEFAULT_POSTPROCESSING if parameters is None else parameters)
    method = parameters.pop("method")
    min_confidence = parameters.pop("min_confidence", 0.0)
    if method not in METHODS:
        raise ValueError(f"unknown post-processing method {method!r}; choose from {', '.join(METHODS)}")
    if probabilities.ndim == 2:
        probabilities = probabilities[..., None]
    labels = METHODS[method](probabilities, **parameters)
    if min_confidence > 0:
        labels = filter_unconfident(labels, probabilities[..., 0], min_confidence)
    return labels
