"""A small DSB-like data set drawn from scratch, so that everything runs without the competition's data.

Usage::

    make_sample("sample", train_count=24, test_count=6, seed=0)   # sample/stage1_train, sample/stage1_test

Images of the set's three types, in its folder layout: bright nuclei on a
dark background (fluorescence), dark nuclei on a light grey background
(bright-field) and purple nuclei on pink (histology). Nuclei are ellipses of
varied size, some touching or overlapping (the masks never overlap: the first
nucleus keeps a shared pixel, as in the competition's masks), with texture,
noise and blur. The same seed gives the same files, byte for byte.
"""

import hashlib
from pathlib import Path

import cv2
import numpy as np

from nuclei.data.image_types import TYPE_NAMES
from nuclei.errors import UserError

SIZES = ((256, 256), (256, 320), (320, 256), (360, 360))
STYLES = {
    "fluorescence": {"background": (12, 12, 14), "nucleus": (200, 200, 210), "spread": 60},
    "brightfield": {"background": (205, 205, 200), "nucleus": (90, 90, 100), "spread": 25},
    "histology": {"background": (232, 180, 205), "nucleus": (110, 50, 150), "spread": 30},
}


def draw_labels(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Instance labels of 8-30 elliptic nuclei; about a third of them placed to touch another."""
    height, width = shape
    labels = np.zeros(shape, dtype=np.uint16)
    centres = []
    for number in range(1, rng.integers(8, 31) + 1):
        axes = (int(rng.integers(5, 16)), int(rng.integers(5, 16)))
        if centres and rng.random() < 0.35:
            other_y, other_x, other_r = centres[rng.integers(len(centres))]
            angle = rng.uniform(0, 2 * np.pi)
            distance = 0.85 * (other_r + max(axes))
            centre = (int(other_x + distance * np.cos(angle)), int(other_y + distance * np.sin(angle)))
        else:
            centre = (int(rng.integers(10, width - 10)), int(rng.integers(10, height - 10)))
        nucleus = np.zeros(shape, dtype=np.uint8)
        cv2.ellipse(nucleus, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, thickness=-1)
        labels[(nucleus > 0) & (labels == 0)] = number
        centres.append((centre[1], centre[0], max(axes)))
    present = [value for value in np.unique(labels) if value]
    lookup = np.zeros(int(labels.max()) + 1, dtype=np.uint16)
    lookup[present] = np.arange(1, len(present) + 1)
    return lookup[labels]


def render(rng: np.random.Generator, labels: np.ndarray, image_type: str) -> np.ndarray:
    """RGB uint8 picture of the nuclei in labels in the look of image_type."""
    style = STYLES[image_type]
    height, width = labels.shape
    background = np.array(style["background"], np.float32)
    nucleus = np.array(style["nucleus"], np.float32)
    image = np.broadcast_to(background, (height, width, 3)).copy()
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 2)
    for value in range(1, int(labels.max()) + 1):
        shade = nucleus + rng.normal(0, style["spread"] / 3, 3)
        image[labels == value] = shade
    image += (style["spread"] / 2) * texture[..., None] * (labels > 0)[..., None]
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    image += rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)


def write_png(path: Path, array: np.ndarray) -> None:
    """An RGB or grey array as a PNG, its folders made; UserError naming the file if it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), array):
        raise UserError(f"cannot write {path}")


def write_image_folder(folder: Path, image_id: str, image: np.ndarray, labels: np.ndarray | None = None) -> None:
    """One image in the DSB layout, with one 0/255 mask PNG per nucleus when labels are given."""
    write_png(folder / image_id / "images" / f"{image_id}.png", image)
    if labels is not None:
        for value in range(1, int(labels.max()) + 1):
            mask_id = hashlib.sha256(f"{image_id}/{value}".encode()).hexdigest()
            write_png(folder / image_id / "masks" / f"{mask_id}.png", ((labels == value) * 255).astype(np.uint8))


def make_sample(out: str | Path, train_count: int, test_count: int, seed: int) -> Path:
    """Write out/stage1_train (with masks) and out/stage1_test (images only); types take turns."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    for folder_name, count, with_masks in (
        ("stage1_train", train_count, True),
        ("stage1_test", test_count, False),
    ):
        for index in range(count):
            image_type = TYPE_NAMES[index % len(TYPE_NAMES)]
            shape = SIZES[rng.integers(len(SIZES))]
            labels = draw_labels(rng, shape)
            image = render(rng, labels, image_type)
            image_id = hashlib.sha256(f"{seed}/{folder_name}/{index}".encode()).hexdigest()
            write_image_folder(out / folder_name, image_id, image, labels if with_masks else None)
    return out
