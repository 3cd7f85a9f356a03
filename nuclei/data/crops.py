"""Random windows of the training images, each large enough for the augmentation to turn and zoom.

Usage::

    source = CropSource(images, targets, crop_size=128, seed=0)
    for image, target, seed in source.stream(sample_indices)():
        ...   # uint8 windows of source.window pixels square, and a seed for the augmentation
"""

import math

import numpy as np

from nuclei.data.augmentation import SCALE_RANGE


def _cut_window(array, top, left, size):
    """The size x size window of array whose corner is (top, left), zero where it leaves array."""
    window = np.zeros((size, size, *array.shape[2:]), dtype=array.dtype)
    rows = slice(max(top, 0), min(top + size, array.shape[0]))
    columns = slice(max(left, 0), min(left + size, array.shape[1]))
    window[rows.start - top : rows.stop - top, columns.start - left : columns.stop - left] = array[rows, columns]
    return window


class CropSource:
    """Random training crops from prepared images, drawn in the order a sampler gives.

    Each crop is a window of ``ceil(crop_size * sqrt(2) / min_zoom)``
    pixels square (min_zoom: the lowest factor of the augmentation's zoom),
    so that the crop_size square that ``augment`` samples from its centre,
    rotated by up to MAX_ROTATION_DEGREES and at the strongest zoom-out, never
    reaches beyond it. The window's centre is drawn where a
    crop_size square around it lies in the image (the image's centre where it
    is smaller), so every pixel of the image can be trained on; the window is
    zero-padded where it leaves the image, which after normalisation is
    background.
    """

    def __init__(
        self,
        images: list[np.ndarray],
        targets: list[np.ndarray],
        crop_size: int,
        seed: int,
        min_zoom: float = SCALE_RANGE[0],
    ):
        self.images = images
        self.targets = targets
        self.crop_size = crop_size
        self.window = int(math.ceil(crop_size * math.sqrt(2) / min(min_zoom, 1.0) / 2)) * 2
        self.rng = np.random.default_rng(seed)

    def _centre(self, length):
        half = self.crop_size // 2
        if length <= self.crop_size:
            return length // 2
        return int(self.rng.integers(half, length - half + 1))

    def crop(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """A window of image and target at index, centred at random."""
        image, target = self.images[index], self.targets[index]
        height, width = image.shape[:2]
        top = self._centre(height) - self.window // 2
        left = self._centre(width) - self.window // 2
        return _cut_window(image, top, left, self.window), _cut_window(target, top, left, self.window)

    def stream(self, sample_indices):
        """A generator factory: each call yields one epoch of (image, target, seed) in a new order."""

        def epoch():
            for index in self.rng.permutation(np.asarray(sample_indices)):
                image, target = self.crop(index)
                yield image, target, self.rng.integers(0, 2**31 - 1, size=2)

        return epoch
