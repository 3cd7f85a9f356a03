"""Reading the Data Science Bowl 2018 folder layout, one image at a time.

Usage::

    from nuclei.data import dsb
    ids = dsb.without_known_bad(dsb.list_image_ids("stage1_train"))
    sample = dsb.read_sample("stage1_train", ids[0])     # Sample(image_id, image, labels)

The layout is ``<folder>/<ImageId>/images/<ImageId>.png`` plus, for labelled
sets, ``<folder>/<ImageId>/masks/*.png`` with one PNG per nucleus. Images come
as grey, RGB, RGBA, 8- or 16-bit PNGs; everything is returned as RGB uint8
(nuclei.data.raw reads them).
Nothing here ever writes into a data folder. Many images at once, in parallel
and through the cache: nuclei.data.loading.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from nuclei.data.raw import RawImage, read_raw, to_rgb8
from nuclei.errors import DataError, UserError

KNOWN_BAD_IMAGE_IDS = frozenset({"7b38c9173ebe69b4c6ba7e703c0c27f39305d9b2910f46405993d2ea7a963b80"})
"""Images whose competition masks are wrong; they are left out of training and scoring."""
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Sample:
    """One image of a DSB folder: RGB uint8 pixels and, for labelled sets, the instance labels.

    ``labels`` is a uint16 map of the image's size: 0 is background, 1..N one
    nucleus each, in the sorted order of the mask files.
    """

    image_id: str
    image: np.ndarray
    labels: np.ndarray | None = None


def check_image_id(image_id: str) -> str:
    """Return image_id if it is a plain folder name; raise UserError for ids that would escape a folder."""
    if not isinstance(image_id, str) or not _SAFE_ID.match(image_id) or ".." in image_id:
        raise UserError(f"invalid ImageId {image_id!r}: must be a plain folder name")
    return image_id


def list_image_ids(folder: str | Path) -> list[str]:
    """Sorted image ids (sub-folder names) of a DSB folder; UserError if it is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"data folder {folder} does not exist")
    ids = sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and _SAFE_ID.match(entry.name)
    )
    if not ids:
        raise UserError(f"data folder {folder} holds no image folders")
    return ids


def without_known_bad(ids: list[str], log=print) -> list[str]:
    """The ids minus KNOWN_BAD_IMAGE_IDS, printing a note for each one left out."""
    kept = []
    for image_id in ids:
        if image_id in KNOWN_BAD_IMAGE_IDS:
            log(f"note: leaving out {image_id}: its competition mask is known to be wrong")
        else:
            kept.append(image_id)
    return kept


def image_path(folder: str | Path, image_id: str) -> Path:
    """Where the DSB layout keeps an image: ``<folder>/<id>/images/<id>.png``."""
    return Path(folder) / image_id / "images" / f"{image_id}.png"


def read_image(path: str | Path) -> np.ndarray:
    """Read any PNG of the set (grey, RGB, RGBA; 8 or 16 bit) as an RGB uint8 array of shape (H, W, 3);
    16-bit values are stretched from their own percentiles (nuclei.data.raw), 8-bit ones kept."""
    raw = read_raw(path)
    if raw.channels == 2:
        raw = RawImage(raw.pixels[:, :, 0], rgb=False)
    return to_rgb8(raw, name=str(path))


def read_labels(folder: str | Path, image_id: str, shape: tuple[int, int]) -> np.ndarray:
    """Instance labels of one image from its ``masks/*.png``: uint16, 1..N in sorted file order.

    Where masks overlap, the first mask keeps the pixel. Raises DataError
    naming the image id when a mask cannot be read or its shape differs from
    the image's (height, width), or when there are no masks.
    """
    mask_paths = sorted((Path(folder) / image_id / "masks").glob("*.png"))
    if not mask_paths:
        raise DataError(f"{image_id}: no masks in {Path(folder) / image_id / 'masks'}")
    if len(mask_paths) >= np.iinfo(np.uint16).max:
        raise DataError(f"{image_id}: too many masks ({len(mask_paths)})")
    labels = np.zeros(shape, dtype=np.uint16)
    for number, mask_path in enumerate(mask_paths, start=1):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise DataError(f"{image_id}: mask {mask_path.name} is not a readable image")
        if mask.shape != tuple(shape):
            raise DataError(
                f"{image_id}: mask {mask_path.name} is {mask.shape[1]}x{mask.shape[0]} "
                f"but the image is {shape[1]}x{shape[0]}"
            )
        left, top, width, height = cv2.boundingRect(mask)
        box = labels[top : top + height, left : left + width]
        box[(mask[top : top + height, left : left + width] > 0) & (box == 0)] = number
    return labels


def read_sample(folder: str | Path, image_id: str, with_labels: bool = True) -> Sample:
    """One Sample; DataError (naming the id) if the image or its masks cannot be used."""
    image = read_image(image_path(folder, image_id))
    labels = read_labels(folder, image_id, image.shape[:2]) if with_labels else None
    return Sample(image_id, image, labels)
