"""Matching the nuclei of an image to the size the network was trained on, and mapping the answer back.

Usage::

    from nuclei.prediction.scale import segment
    for scaled in segment(model, images, parameters, opened.trained_sizes, diameter="auto"):
        scaled.labels     # at the image's own size; scaled.factor: how much it was resized for the network

A U-Net recognises nuclei at the sizes it was trained on. Images taken at
another magnification (nuclei of 80 pixels where the training data's are
about 18) are resized so that their nuclei match, by a factor of
``trained.median / diameter``; the probabilities are resized back, so
labels are always at the image's own pixels. ``diameter`` is the typical
nucleus diameter in pixels, as the user knows it (``--diameter``), or
"auto": each image is first predicted at PROBE_FACTORS, and the probe
whose nuclei come out nearest the trained size tells the image's nucleus
size (at the wrong scale the network breaks large nuclei into fragments or
merges small ones, so the sizes it finds there are unreliable). An
estimate within the sizes the model has seen (TrainedSizes.low to .high)
leaves the image as it is: the network does best on the sizes it learnt
at their own scale (docs/quality-log.md measures both).
"""

import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import cv2
import numpy as np

from nuclei.data.sizes import TrainedSizes, median_diameter
from nuclei.prediction.inference import predict_probabilities
from nuclei.prediction.instances import filter_small, label_nuclei

PROBE_FACTORS = (1.0, 0.5, 0.25)
"""Resize factors at which an image is first predicted to estimate its nucleus size (below 1 shrinks)."""
RESCALE_TOLERANCE = 1.25
"""An image whose estimated nucleus diameter lies within this factor of the trained one is not resized."""
FACTOR_LIMITS = (0.1, 2.0)
"""The smallest and largest resize factors: nuclei of 10 times or half the trained size (enlarging more would
multiply the memory and time of a large image for nuclei too small to segment anyway)."""
PROBE_MIN_AREA = 16
"""Smallest object (pixels at the probe's scale) that counts when measuring a probe's nuclei: specks of noise
would otherwise make every probe's median tiny."""
MIN_SIDE = 32
"""Smallest side in pixels of an image resized for the network."""


class Scaled(NamedTuple):
    """One image's labels and probability maps (H, W, C) at its own size, and the factor it was resized by
    for the network (1: not)."""

    index: int
    labels: np.ndarray
    factor: float
    probabilities: np.ndarray


def effective_factor(shape: tuple[int, ...], factor: float) -> float:
    """factor, or the smallest one that keeps the image's shorter side at MIN_SIDE pixels (never above 1)."""
    if factor >= 1.0:
        return factor
    return min(1.0, max(factor, MIN_SIDE / min(shape[:2])))


def resized(image: np.ndarray, factor: float) -> np.ndarray:
    """The image resized by factor, both sides alike (area averaging to shrink, bilinear to enlarge); callers
    pass an effective_factor, so that no side falls under MIN_SIDE."""
    if factor == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(round(width * factor), 1), max(round(height * factor), 1))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)


def back_to(probabilities: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Probability maps (H', W', C) resized bilinearly to the image's (H, W)."""
    if probabilities.shape[:2] == tuple(shape[:2]):
        return probabilities
    back = cv2.resize(probabilities, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return back.reshape(shape[0], shape[1], -1)


def factor_for(diameter: float, trained_diameter: float) -> float:
    """The resize factor that brings nuclei of diameter pixels to trained_diameter, within FACTOR_LIMITS;
    1.0 within RESCALE_TOLERANCE of it, or when nothing was measured."""
    if diameter <= 0 or trained_diameter <= 0:
        return 1.0
    factor = trained_diameter / diameter
    if 1 / RESCALE_TOLERANCE <= factor <= RESCALE_TOLERANCE:
        return 1.0
    return float(np.clip(factor, *FACTOR_LIMITS))


def scaled_parameters(parameters: dict[str, Any], factor: float) -> dict[str, Any]:
    """The post-processing for labels at the image's own pixels, of an image predicted at factor:
    min_size, in pixels at the trained scale, is divided by factor squared."""
    if factor == 1.0 or not parameters.get("min_size"):
        return parameters
    return {**parameters, "min_size": max(1, round(parameters["min_size"] / factor**2))}


def auto_factor(diameter: float, trained: TrainedSizes) -> float:
    """The resize factor for an image whose nuclei were estimated at diameter pixels: 1.0 where the model has
    seen such sizes (or nothing was measured), else the factor_for the trained median."""
    if diameter <= 0 or trained.low <= diameter <= trained.high:
        return 1.0
    return factor_for(diameter, trained.median)


def probe_diameter(labels: np.ndarray) -> float:
    """The median diameter (pixels) of a probe's nuclei, objects under PROBE_MIN_AREA pixels left out."""
    return median_diameter(filter_small(labels, PROBE_MIN_AREA))


def estimate_diameter(measured: dict[float, float], trained_diameter: float) -> float:
    """An image's nucleus diameter (pixels) from the probe_diameter at each probe factor (in the probe's
    pixels): the one probe whose median nucleus is nearest trained_diameter tells it; 0.0 when none
    found any."""
    measured = {factor: size for factor, size in measured.items() if size > 0}
    if not measured:
        return 0.0
    best = min(measured, key=lambda factor: abs(math.log(measured[factor] / trained_diameter)))
    return measured[best] / best


class ResizedImages(Sequence):
    """The images, each resized by its factor when it is read, so that no resized copy outlives its batch."""

    def __init__(self, images: Sequence[np.ndarray], factors: Sequence[float]):
        self.images, self.factors = images, factors

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return resized(self.images[index], self.factors[index])


def _probabilities(model, images, factors, **options) -> Iterator[tuple[int, np.ndarray]]:
    """(index, probabilities at the image's own size) of each image predicted after resizing by its factor."""
    inputs = ResizedImages(images, factors)
    for index, probabilities in predict_probabilities(model, inputs, **options):
        yield index, back_to(probabilities, images[index].shape)


def _auto_factors(model, images, parameters, trained: TrainedSizes, batch_size) -> list[float]:
    """Each image's resize factor, estimated from probe predictions (no flips); only each probe's median
    diameter is kept, so memory does not grow with the number of images beyond the predictor's chunk."""
    measured = [{} for _ in images]
    for probe in PROBE_FACTORS:
        factors = [effective_factor(image.shape, probe) for image in images]
        inputs = ResizedImages(images, factors)
        for index, probabilities in predict_probabilities(model, inputs, batch_size=batch_size, progress=False):
            labels = label_nuclei(probabilities, {**parameters, "min_size": 0})
            measured[index][factors[index]] = probe_diameter(labels)
    return [auto_factor(estimate_diameter(sizes, trained.median), trained) for sizes in measured]


def segment(
    model,
    images: Sequence[np.ndarray],
    parameters: dict[str, Any],
    trained: TrainedSizes | None,
    diameter: float | str | None = "auto",
    batch_size: int = 8,
    tta: bool = False,
    progress: bool = True,
) -> Iterator[Scaled]:
    """Label the nuclei of each RGB uint8 image, resized so that its nuclei match the trained sizes.

    diameter: the images' nucleus diameter in pixels, "auto" (estimated per
    image), or None (no resizing; also when trained is unknown).
    Yields Scaled(index, labels, factor, probabilities) in order.
    """
    if trained is None or diameter is None:
        factors = [1.0] * len(images)
    elif diameter == "auto":
        factors = _auto_factors(model, images, parameters, trained, batch_size)
    else:
        factors = [factor_for(float(diameter), trained.median)] * len(images)
    factors = [effective_factor(image.shape, factor) for image, factor in zip(images, factors)]
    options = dict(batch_size=batch_size, tta=tta, progress=progress)
    for index, probabilities in _probabilities(model, images, factors, **options):
        labels = label_nuclei(probabilities, scaled_parameters(parameters, factors[index]))
        yield Scaled(index, labels, factors[index], probabilities)
