"""Making every image look alike to the network, in training and in prediction alike.

Usage::

    from nuclei.data.normalisation import model_input
    pixels = model_input(image)          # float32 (H, W, 3) in [0, 1] from RGB uint8
"""

import numpy as np

MIN_CONTRAST = 25.0
"""Smallest percentile spread (grey levels) that is stretched to the full range, so that an
image of nearly flat background is not blown up into noise."""


def normalise_image(image: np.ndarray) -> np.ndarray:
    """Make every image type look alike to the network: RGB uint8 in, RGB uint8 out.

    Bright-background images (bright-field and stained histology, whose
    nuclei are dark) are inverted so that nuclei are always brighter than
    the background, then the intensities are stretched so that the 1st
    percentile maps to 0 and the 99.9th to 255.
    """
    pixels = image.astype(np.float32)
    if np.median(pixels.mean(axis=2)) > 127.5:
        pixels = 255.0 - pixels
    low, high = np.percentile(pixels, (1.0, 99.9))
    scale = 255.0 / max(high - low, MIN_CONTRAST)
    return np.clip((pixels - low) * scale, 0, 255).round().astype(np.uint8)


def model_input(image: np.ndarray) -> np.ndarray:
    """The exact float32 input the U-Net was trained on, from an RGB uint8 image: values in [0, 1]."""
    return normalise_image(image).astype(np.float32) / 255.0
