"""Splitting the labelled images into training and validation, by image id, before any augmentation.

Usage::

    train_ids, val_ids = split_ids(ids, types, val_fraction=0.1, seed=42)
"""

from typing import NamedTuple

import numpy as np

from nuclei.errors import UserError


class Split(NamedTuple):
    """The image ids of each side of a split, each sorted."""

    train_ids: list[str]
    val_ids: list[str]


def split_ids(ids: list[str], types: list[str], val_fraction: float, seed: int) -> Split:
    """(train_ids, val_ids), split by image id before any augmentation, stratified by image type.

    Each type with at least two images puts round(val_fraction * count),
    but at least one, into validation, so every type gets a validation
    score. Both lists are sorted; neither is empty.
    """
    if len(ids) < 2:
        raise UserError(f"need at least 2 labelled images to split into training and validation, got {len(ids)}")
    rng = np.random.default_rng(seed)
    val_ids = []
    for name in sorted(set(types)):
        members = [image_id for image_id, kind in zip(ids, types) if kind == name]
        if len(members) >= 2:
            count = min(max(1, round(len(members) * val_fraction)), len(members) - 1)
            val_ids.extend(rng.permutation(members)[:count].tolist())
    if not val_ids:
        val_ids = [ids[rng.integers(len(ids))]]
    chosen = set(val_ids)
    return Split(sorted(i for i in ids if i not in chosen), sorted(val_ids))
