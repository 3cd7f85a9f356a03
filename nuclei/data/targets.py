"""Training targets from instance labels: the nucleus, its inner rim, and where touching nuclei part.

Usage::

    from nuclei.data.targets import make_targets
    target = make_targets(labels, width=2)      # uint8 (H, W, 3) of 0/1

A rim around every nucleus, rather than only where two touch, is a wide,
visible target that a short training learns; two touching nuclei are then
kept apart by both their rims, which the seeded watershed
(nuclei.prediction.instances) needs.
"""

import numpy as np
from scipy import ndimage

TARGET_CHANNELS = ("nucleus", "boundary")
"""Channels the U-Net predicts: the union of nuclei, and the inner rim of every nucleus."""
TRAINING_TARGET_CHANNELS = (*TARGET_CHANNELS, "contact")
"""Channels of the training targets: those predicted, then where touching nuclei part
(nucleus_contact), which only weights the loss (nuclei.model.losses.bce_dice_loss)."""
BOUNDARY_WIDTH = 2
"""Width in pixels of the boundary channel's rim, inside each nucleus, and of the band where
touching nuclei part (--boundary-width); docs/quality-log.md compares it with 1."""
_NO_NUCLEUS = np.iinfo(np.int32).max


def _labels_near(labels, width, background=True):
    """Largest and smallest label within width pixels (chessboard distance) of each pixel, as int32 arrays.

    Without background the smallest is that of the nuclei alone: _NO_NUCLEUS where none is near.
    """
    labels = labels.astype(np.int32)
    footprint = np.ones((2 * width + 1, 2 * width + 1), dtype=bool)
    eroded = labels if background else np.where(labels > 0, labels, _NO_NUCLEUS)
    largest = ndimage.grey_dilation(labels, footprint=footprint)
    return largest, ndimage.grey_erosion(eroded, footprint=footprint, mode="nearest")


def nucleus_boundary(labels: np.ndarray, width: int = BOUNDARY_WIDTH) -> np.ndarray:
    """Pixels of a nucleus within width pixels (chessboard distance) of anything else: background or another nucleus."""
    largest_near, smallest_near = _labels_near(labels, width)
    return (labels > 0) & ((largest_near > labels) | (smallest_near < labels))


def nucleus_contact(labels: np.ndarray, width: int = BOUNDARY_WIDTH) -> np.ndarray:
    """Pixels, of a nucleus or of the background, with two different nuclei within width pixels
    (chessboard distance): where touching or nearly touching nuclei part."""
    largest_near, smallest_nucleus_near = _labels_near(labels, width, background=False)
    return (smallest_nucleus_near < _NO_NUCLEUS) & (largest_near > smallest_nucleus_near)


def make_targets(labels: np.ndarray, width: int = BOUNDARY_WIDTH) -> np.ndarray:
    """The training target from instance labels: uint8 (H, W, 3) of 0/1, channels TRAINING_TARGET_CHANNELS;
    width in pixels, of the rim and of the band where nuclei part."""
    channels = [labels > 0, nucleus_boundary(labels, width), nucleus_contact(labels, width)]
    return np.stack(channels, axis=-1).astype(np.uint8)
