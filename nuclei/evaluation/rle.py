"""The run-length encoding of the competition's submissions: one row per nucleus.

Usage::

    from nuclei.evaluation.rle import rle_encode, rle_decode, labels_to_rles
    runs = rle_encode(mask)                               # "1 3 10 5"
    mask = rle_decode(runs, mask.shape)

Pixels are 1-indexed and run top to bottom, then left to right (column-major).
"""

import numpy as np


def rle_encode(mask: np.ndarray) -> str:
    """Run-length encode a binary mask: 1-indexed pixels, column-major (top to bottom, then left to right).

    Returns "start length start length ..."; an empty mask gives "".
    """
    pixels = np.asarray(mask, dtype=bool).flatten(order="F")
    padded = np.concatenate([[False], pixels, [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1]) + 1
    starts, ends = changes[::2], changes[1::2]
    return " ".join(f"{start} {end - start}" for start, end in zip(starts, ends))


def rle_decode(runs: str, shape: tuple[int, int]) -> np.ndarray:
    """The binary mask of the given (height, width) described by an rle_encode string."""
    height, width = shape
    flat = np.zeros(height * width, dtype=bool)
    numbers = np.array(runs.split(), dtype=np.int64)
    if numbers.size % 2:
        raise ValueError("run-length encoding must hold pairs of numbers")
    for start, length in zip(numbers[::2], numbers[1::2]):
        if start < 1 or length < 1 or start - 1 + length > flat.size:
            raise ValueError(f"run {start} {length} lies outside a {height}x{width} image")
        flat[start - 1 : start - 1 + length] = True
    return flat.reshape((height, width), order="F")


def labels_to_rles(labels: np.ndarray) -> list[str]:
    """One run-length string per nucleus of a label map, in increasing label order."""
    labels = np.asarray(labels)
    return [rle_encode(labels == value) for value in np.unique(labels) if value != 0]


def rles_to_labels(rles: list[str], shape: tuple[int, int]) -> np.ndarray:
    """The label map 1..N rebuilt from run-length strings (empty strings are skipped)."""
    labels = np.zeros(shape, dtype=np.int32)
    number = 0
    for runs in rles:
        if runs.strip():
            number += 1
            labels[rle_decode(runs, shape)] = number
    return labels
