"""Pictures of label maps: each nucleus in its own colour, outlines drawn over the image.

Usage::

    from nuclei.pictures import colour_labels, overlay
    picture = overlay(image, predicted, truth)     # RGB uint8: predicted outlines green, true magenta
"""

import numpy as np

PREDICTED_OUTLINE = (0, 255, 0)
TRUE_OUTLINE = (255, 0, 255)


def colour_labels(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """RGB uint8 picture of a label map: black background, each nucleus a random bright colour."""
    palette = np.random.default_rng(seed).integers(64, 256, size=(int(labels.max()) + 1, 3)).astype(np.uint8)
    palette[0] = 0
    return palette[labels]


def overlay(image: np.ndarray, predicted: np.ndarray, truth: np.ndarray | None = None) -> np.ndarray:
    """The image with predicted outlines in green and, if given, true outlines in magenta."""
    from skimage.segmentation import find_boundaries

    picture = image.copy()
    if truth is not None:
        picture[find_boundaries(truth, mode="inner")] = TRUE_OUTLINE
    picture[find_boundaries(predicted, mode="inner")] = PREDICTED_OUTLINE
    return picture
