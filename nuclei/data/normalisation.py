"""Making every image look alike to the network, in training and in prediction alike.

Usage::

    from nuclei.data.normalisation import model_input
    pixels = model_input(image)          # float32 (H, W, 3) in [0, 1] from RGB uint8
"""

import numpy as np

PERCENTILES = (1.0, 99.9)
"""The percentiles of an image's grey levels stretched to 0 and 255 (to 0 and 1 for the network)."""
MIN_CONTRAST = 25.0
"""Smallest percentile spread (grey levels) that is stretched to the full range, so that an
image of nearly flat background is not blown up into noise."""
COLOUR_SPREAD = 8.0
"""Mean spread between an image's colour channels (grey levels) above which it counts as stained:
fluorescence images, even stored as RGB, have none; stained histology has more than 10."""
BRIGHT_POSITION = {"stained": 0.3, "grey": 0.5}
"""Where an image's median lies between its 1st and 99.9th percentiles (0 at the first, 1 at the
second) above which its background is bright and its nuclei dark, for stained and grey images.
Fluorescence backgrounds sit near 0 (at most 0.18 in the competition's images), bright-field near 1
(at least 0.82); dense H&E tissue can sit below the middle (0.43), and is told apart by its colour."""


def has_bright_background(image: np.ndarray) -> bool:
    """Whether an RGB image's nuclei are darker than its background (bright-field, stained histology): its
    median is above mid-grey, or lies high between its percentiles (BRIGHT_POSITION)."""
    grey = image.astype(np.float32).mean(axis=2)
    low, median, high = np.percentile(grey, (1.0, 50.0, 99.9))
    if median > 127.5:
        return True
    position = (median - low) / max(high - low, 1.0)
    spread = float(np.mean(image.max(axis=2).astype(np.float32) - image.min(axis=2)))
    return bool(position > BRIGHT_POSITION["stained" if spread > COLOUR_SPREAD else "grey"])


def normalise_image(image: np.ndarray) -> np.ndarray:
    """Make every image type look alike to the network: RGB uint8 in, RGB uint8 out.

    Bright-background images (bright-field and stained histology, whose
    nuclei are dark) are inverted so that nuclei are always brighter than
    the background, then the intensities are stretched so that the 1st
    percentile maps to 0 and the 99.9th to 255.
    """
    pixels = image.astype(np.float32)
    if has_bright_background(image):
        pixels = 255.0 - pixels
    low, high = np.percentile(pixels, PERCENTILES)
    scale = 255.0 / max(high - low, MIN_CONTRAST)
    return np.clip((pixels - low) * scale, 0, 255).round().astype(np.uint8)


def model_input(image: np.ndarray) -> np.ndarray:
    """The exact float32 input the U-Net was trained on, from an RGB uint8 image: values in [0, 1]."""
    return normalise_image(image).astype(np.float32) / 255.0
