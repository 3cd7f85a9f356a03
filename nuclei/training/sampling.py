"""Which training images an epoch draws, and how often: the one difference between the two trainers.

Usage::

    sampler = uniform_sampler                                  # trainer.py: each image once
    sampler = balanced_sampler(parse_multipliers("fluorescence=1,histology=3,brightfield=20"))
    indices = sampler(types)                                   # an index per draw; indices repeat

A sampler is a function from the image types of the training images to the
list of image indices drawn in one epoch; each draw is a fresh augmented crop.
"""

import argparse
from collections.abc import Callable

from nuclei.data.image_types import TYPE_NAMES

Sampler = Callable[[list[str]], list[int]]
DEFAULT_MULTIPLIERS = "fluorescence=2,histology=6,brightfield=10"
"""Draws per epoch of each image type in the balanced trainer (docs/quality-log.md compares the original's 1/3/20)."""


def uniform_sampler(types: list[str]) -> list[int]:
    """Each training image once per epoch (the plain trainer)."""
    return list(range(len(types)))


def balanced_sampler(multipliers: dict[str, int]) -> Sampler:
    """A sampler drawing image i multipliers[type of i] times per epoch."""

    def sample(types: list[str]) -> list[int]:
        return [index for index, name in enumerate(types) for _ in range(multipliers[name])]

    return sample


def parse_multipliers(text: str) -> dict[str, int]:
    """{type: draws per epoch} from "fluorescence=1,histology=3,brightfield=20"; every type needed.

    An argparse type: a bad value raises ArgumentTypeError, reported in one line.
    """
    multipliers = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in TYPE_NAMES:
            raise argparse.ArgumentTypeError(f"unknown image type {name!r} in --multipliers")
        try:
            multipliers[name] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--multipliers: {name} needs a whole number, got {value!r}") from None
        if multipliers[name] < 0:
            raise argparse.ArgumentTypeError(f"--multipliers: {name} must not be negative")
    missing = set(TYPE_NAMES) - set(multipliers)
    if missing:
        raise argparse.ArgumentTypeError(f"--multipliers lacks {', '.join(sorted(missing))}")
    return multipliers


def describe_draws(types: list[str], sample_indices: list[int]) -> list[str]:
    """Two log lines: the training images per type, and the draws per epoch per type."""
    counts = {name: types.count(name) for name in sorted(set(types))}
    drawn = {name: sum(1 for i in sample_indices if types[i] == name) for name in counts}
    return [
        "training images per type: " + ", ".join(f"{name} {count}" for name, count in counts.items()),
        f"samples per epoch: {len(sample_indices)} (" + ", ".join(f"{n} {c}" for n, c in drawn.items()) + ")",
    ]
