"""A memory-mapped cache of decoded DSB folders: the PNGs decoded once, read back as arrays.

Usage::

    path = cache.cache_path("dsb_cache", "stage1_train", ids, with_labels=True)
    if cache.is_complete(path):
        samples, skipped = cache.read_cache(path)
    else:
        ...decode...
        cache.write_cache(path, samples, skipped)

A cache folder is ``<cache_dir>/<folder name>-<fingerprint>/`` with
``images.npy``, ``labels.npy`` (all images, and all label maps, concatenated
flat) and ``index.json`` (ids, shapes, skipped images). The fingerprint hashes
the names, sizes and times of the PNGs, so any change to the data makes a new
cache; the stale one of that folder is removed when the new one is written.
The cache is only a copy: deleting it is always safe.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from nuclei.data.dsb import Sample

CACHE_FORMAT = 2
DEFAULT_CACHE_DIR = "dsb_cache"
"""Decoded images are cached here, in the current directory, unless --no-cache is given."""


def data_fingerprint(folder: str | Path, ids: list[str], with_labels: bool = True) -> str:
    """A short hash of the names, sizes and modification times of the PNGs of the given images.

    Any added, removed, replaced or edited image or mask changes it. It only
    stats the files (os.scandir), so it costs a fraction of a second for the
    whole competition set.
    """
    digest = hashlib.sha256(f"{with_labels}|{CACHE_FORMAT}\n".encode())
    for image_id in ids:
        for part in ("images", "masks") if with_labels else ("images",):
            try:
                entries = sorted(os.scandir(Path(folder) / image_id / part), key=lambda entry: entry.name)
            except (FileNotFoundError, NotADirectoryError):
                digest.update(f"{image_id}/{part} missing\n".encode())
                continue
            for entry in entries:
                stat = entry.stat()
                digest.update(f"{image_id}/{part}/{entry.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cache_path(cache_dir: str | Path, folder: str | Path, ids: list[str], with_labels: bool) -> Path:
    """The cache folder of these images of folder: its name and the fingerprint of their files."""
    name = Path(folder).resolve().name
    return Path(cache_dir) / f"{name}-{data_fingerprint(folder, ids, with_labels)}"


def write_cache(path: Path, samples: list[Sample], skipped: list[tuple[str, str]]) -> None:
    """Concatenate the decoded arrays into images.npy / labels.npy plus index.json, in a folder swapped in whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        index = {"ids": [], "shapes": [], "skipped": skipped, "with_labels": samples[0].labels is not None}
        image_total = sum(sample.image.size for sample in samples)
        images = np.lib.format.open_memmap(work / "images.npy", mode="w+", dtype=np.uint8, shape=(image_total,))
        labels = None
        if index["with_labels"]:
            label_total = sum(sample.labels.size for sample in samples)
            labels = np.lib.format.open_memmap(work / "labels.npy", mode="w+", dtype=np.uint16, shape=(label_total,))
        image_offset = label_offset = 0
        for sample in samples:
            images[image_offset : image_offset + sample.image.size] = sample.image.ravel()
            image_offset += sample.image.size
            if labels is not None:
                labels[label_offset : label_offset + sample.labels.size] = sample.labels.ravel()
                label_offset += sample.labels.size
            index["ids"].append(sample.image_id)
            index["shapes"].append(list(sample.image.shape))
        images.flush()
        del images, labels
        (work / "index.json").write_text(json.dumps(index))
        for stale in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*"):
            if stale.is_dir() and stale != path:
                shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(work, path)
        except OSError:
            if not (path / "index.json").is_file():
                raise
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def read_cache(path: Path) -> tuple[list[Sample], list[tuple[str, str]]]:
    """Samples whose arrays are read-only views into the memory-mapped cache files, and the skipped list."""
    index = json.loads((path / "index.json").read_text())
    images = np.load(path / "images.npy", mmap_mode="r")
    labels = np.load(path / "labels.npy", mmap_mode="r") if index["with_labels"] else None
    samples, image_offset, label_offset = [], 0, 0
    for image_id, shape in zip(index["ids"], index["shapes"]):
        size = int(np.prod(shape))
        image = images[image_offset : image_offset + size].reshape(shape)
        image_offset += size
        sample_labels = None
        if labels is not None:
            sample_labels = labels[label_offset : label_offset + size // 3].reshape(shape[:2])
            label_offset += size // 3
        samples.append(Sample(image_id, image, sample_labels))
    return samples, [tuple(item) for item in index["skipped"]]


def is_complete(path: Path) -> bool:
    """Whether a cache folder was written whole (its index is written last)."""
    return (path / "index.json").is_file()
