"""Loading many images of a DSB folder at once: parallel threads, a progress bar, the cache.

Usage::

    from nuclei.data.loading import load_samples
    samples, skipped = load_samples("stage1_train", ids, cache_dir="dsb_cache")

A bad image (corrupt PNG, missing image, no masks, a mask of the wrong size)
is skipped with a warning naming it, and listed in ``skipped``.
"""

import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import NamedTuple

from nuclei.data import cache
from nuclei.data.dsb import Sample, read_sample
from nuclei.errors import DataError


class Loaded(NamedTuple):
    """The usable images of a folder, in the order asked for, and (image_id, reason) for each one skipped."""

    samples: list[Sample]
    skipped: list[tuple[str, str]]


def load_samples(
    folder: str | Path,
    ids: list[str],
    with_labels: bool = True,
    workers: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    cache_dir: str | Path | None = None,
    read: Callable[[str, bool], Sample] | None = None,
) -> Loaded:
    """Read the images of ids (and their masks, with_labels) in parallel threads, through an optional cache.

    Each skipped image is also reported through log as a warning. With
    cache_dir, the decoded arrays are kept there (nuclei.data.cache) and read
    back memory-mapped the next time. read(image_id, with_labels) reads one
    image of another layout (nuclei.data.annotations); default: the DSB layout.
    """
    from tqdm import tqdm

    if log is None:

        def log(text):
            tqdm.write(text, file=sys.stderr)

    path = cache.cache_path(cache_dir, folder, ids, with_labels) if cache_dir else None
    if path is not None and cache.is_complete(path):
        samples, skipped = cache.read_cache(path)
        for image_id, reason in skipped:
            log(f"warning: skipping {image_id}: {reason}")
        return Loaded(samples, skipped)

    samples, skipped = [], []

    read = read or partial(read_sample, folder)

    def load_one(image_id):
        try:
            return read(image_id, with_labels)
        except DataError as error:
            return error

    with ThreadPoolExecutor(workers or min(8, (os.cpu_count() or 1) * 2)) as pool:
        results = pool.map(load_one, ids)
        for image_id, result in tqdm(
            zip(ids, results), total=len(ids), desc="loading images", unit="img", disable=not progress
        ):
            if isinstance(result, DataError):
                log(f"warning: skipping {image_id}: {result}")
                skipped.append((image_id, str(result)))
            else:
                samples.append(result)
    if path is not None and samples:
        cache.write_cache(path, samples, skipped)
    return Loaded(samples, skipped)
