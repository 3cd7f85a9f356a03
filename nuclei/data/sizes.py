"""Nucleus sizes of label maps, in pixels: what the model folder records and what prediction matches.

Usage::

    from nuclei.data.sizes import median_diameter, training_sizes
    median_diameter(labels)                           # one image's median nucleus, pixels across
    sizes = training_sizes([sample.labels for sample in samples])
    sizes.median, sizes.low, sizes.high
"""

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

SEEN_PERCENTILES = (1.0, 99.0)
"""The percentiles of the training images' median nucleus diameters that bound the sizes a model has seen."""


class TrainedSizes(NamedTuple):
    """Nucleus diameters (pixels) of a model's training images: the median over images of each image's median
    nucleus, and the range (SEEN_PERCENTILES) of those medians: the sizes it has seen often enough."""

    median: float
    low: float
    high: float


def median_diameter(labels: np.ndarray) -> float:
    """Median equivalent diameter (pixels) of the nuclei of a label map, sqrt(4 area / pi); 0.0 when none."""
    areas = np.bincount(np.asarray(labels).ravel().astype(np.int64, copy=False))[1:]
    areas = areas[areas > 0]
    return float(np.median(np.sqrt(4.0 * areas / math.pi))) if len(areas) else 0.0


def training_sizes(label_maps: Iterable[np.ndarray]) -> TrainedSizes | None:
    """The TrainedSizes of labelled images, each image counting once however many nuclei it has (so that
    images with many small nuclei do not outweigh the rest); None when no image has a nucleus."""
    sizes = [size for size in (median_diameter(labels) for labels in label_maps) if size > 0]
    if not sizes:
        return None
    low, high = np.percentile(sizes, SEEN_PERCENTILES)
    return TrainedSizes(*(round(float(value), 2) for value in (np.median(sizes), low, high)))
