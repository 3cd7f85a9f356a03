"""Labelled images in the layouts labs keep them: the competition's, image + label-image pairs, Cellpose's.

Usage::

    from nuclei.data.annotations import open_labelled
    labelled = open_labelled("my_annotations")      # the layout is detected from the folder
    labelled.describe()                             # "my_annotations: image + label-image pairs ..., 12 images"
    sample = labelled.read(labelled.ids[0])         # Sample(image_id, RGB uint8 image, uint16 labels)

Layouts:

- ``dsb``: ``<id>/images/<id>.png`` with ``<id>/masks/*.png``, one PNG per nucleus.
- ``pairs``: ``images/NAME.ext`` with ``masks/NAME.ext``, a label image (0 background, 1..N).
- ``cellpose``: ``NAME.ext`` (or ``NAME_img.ext``) with ``NAME_masks.ext`` side by side, as Cellpose
  saves them.

Images and label images are read as prediction reads them (nuclei.data.raw:
PNG, TIFF, JPEG; 8-, 16- or 32-bit). A label image that holds only 0 and
one value in several separate pieces is a binary mask, in which touching
nuclei cannot be told apart: it is refused unless ``binary_masks`` is
"components", which labels its connected pieces. Nothing is ever written
into the folder.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nuclei.data import dsb
from nuclei.data.dsb import Sample
from nuclei.data.inputs import is_dsb_folder, is_image_file
from nuclei.data.raw import read_raw, to_rgb8
from nuclei.errors import DataError, UserError

LAYOUTS = {
    "dsb": "the DSB layout (<id>/images/<id>.png, <id>/masks/*.png)",
    "pairs": "image + label-image pairs (images/NAME, masks/NAME)",
    "cellpose": "Cellpose's layout (NAME with NAME_masks)",
}
MASK_SUFFIX = "_masks"
IMAGE_SUFFIX = "_img"
"""Cellpose's own data sets name their images NNN_img beside NNN_masks."""
NOT_IMAGES = (MASK_SUFFIX, "_flows", "_outlines", "_labels", "_probabilities")
"""Endings of the files beside the images in Cellpose's layout that are not images to train on: its own outputs
and this suite's."""
BINARY_MASKS = ("refuse", "components")


@dataclass
class LabelledFolder:
    """A folder of labelled images in one of LAYOUTS: its image ids, and where each image's files are."""

    folder: Path
    layout: str
    images: dict[str, Path] = field(default_factory=dict)
    masks: dict[str, Path] = field(default_factory=dict)
    binary_masks: str = "refuse"
    channel: int | None = None
    """The 1-based channel of multi-channel images that holds the nuclei (--channel); None: the only one."""

    @property
    def ids(self) -> list[str]:
        """The image ids, sorted (in the DSB layout, the image folders' names)."""
        return dsb.list_image_ids(self.folder) if self.layout == "dsb" else sorted(self.images)

    def describe(self) -> str:
        return f"{self.folder}: {LAYOUTS[self.layout]}, {len(self.ids)} images"

    def read(self, image_id: str, with_labels: bool = True) -> Sample:
        """One Sample; DataError naming the image when it or its annotation cannot be used."""
        if self.layout == "dsb":
            return dsb.read_sample(self.folder, image_id, with_labels)
        if image_id not in self.images:
            raise DataError(f"{image_id}: no such image in {self.folder}")
        path = self.images[image_id]
        image = to_rgb8(read_raw(path), self.channel, str(path))
        if not with_labels:
            return Sample(image_id, image)
        if image_id not in self.masks:
            raise DataError(f"{path}: no label image ({self._expected_mask(image_id)})")
        labels = read_label_image(self.masks[image_id], image.shape[:2], self.binary_masks)
        return Sample(image_id, image, labels)

    def _expected_mask(self, image_id: str) -> str:
        if self.layout == "pairs":
            return f"masks/{image_id}.*"
        return f"{image_id}{MASK_SUFFIX}.*"


def read_label_image(path: Path, shape: tuple[int, int], binary_masks: str = "refuse") -> np.ndarray:
    """A label image as uint16 labels 1..N (renumbered without gaps); DataError naming the file when its size
    differs from the image's (height, width), it holds no nucleus, it is a binary mask that binary_masks does
    not allow, or it is not a single plane of whole numbers."""
    from skimage.measure import label
    from skimage.segmentation import relabel_sequential

    values = _palette_indices(path)
    if values is None:
        values = read_raw(path).pixels
    if values.ndim == 3 and values.shape[2] in (2, 4):
        values = values[:, :, :-1]
    if values.ndim == 3:
        if not all(np.array_equal(values[:, :, 0], values[:, :, c]) for c in range(1, values.shape[2])):
            raise DataError(f"{path}: a label image must be one plane, not {values.shape[2]} channels")
        values = values[:, :, 0]
    if values.shape != tuple(shape):
        raise DataError(f"{path}: is {values.shape[1]}x{values.shape[0]} but its image is {shape[1]}x{shape[0]}")
    if np.issubdtype(values.dtype, np.floating) and not np.array_equal(values, np.round(values)):
        raise DataError(f"{path}: holds fractions; a label image holds whole numbers (0 background, 1..N)")
    values = values.astype(np.int64)
    present = np.unique(values)
    if present.size == 1 and present[0] == 0:
        raise DataError(f"{path}: empty annotation (no nucleus)")
    if present.min() < 0:
        raise DataError(f"{path}: negative labels")
    pieces = label(values > 0, connectivity=1)
    if present.size == 2 and present[0] == 0 and pieces.max() > 1:
        if binary_masks != "components":
            raise DataError(
                f"{path}: a binary mask (0 and {present[1]}), in which touching nuclei cannot be told apart; "
                "--binary-masks components labels its connected pieces"
            )
        values = pieces
    labels = relabel_sequential(values)[0]
    if labels.max() > np.iinfo(np.uint16).max:
        raise DataError(f"{path}: more than 65,535 nuclei")
    return labels.astype(np.uint16)


def _palette_indices(path: Path) -> np.ndarray | None:
    """The indices of a palette PNG (a label image saved with a colour table, as ImageJ's LUTs and labelme
    save them), which OpenCV would turn into colours; None for any other file."""
    if path.suffix.lower() != ".png":
        return None
    from PIL import Image

    try:
        with Image.open(path) as picture:
            return np.asarray(picture) if picture.mode == "P" else None
    except OSError:
        return None


def _pairs(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """({NAME: image}, {NAME: label image}) of the pairs layout."""
    images = {path.stem: path for path in sorted((folder / "images").iterdir()) if is_image_file(path)}
    masks = {path.stem: path for path in sorted((folder / "masks").iterdir()) if is_image_file(path)}
    return images, masks


def _cellpose(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """({NAME: image}, {NAME: label image}) of Cellpose's layout."""
    files = [path for path in sorted(folder.iterdir()) if is_image_file(path)]
    masks = {path.stem[: -len(MASK_SUFFIX)]: path for path in files if path.stem.endswith(MASK_SUFFIX)}
    images = {}
    for path in files:
        if not path.stem.endswith(NOT_IMAGES):
            paired = path.stem.endswith(IMAGE_SUFFIX) and path.stem not in masks
            images[path.stem[: -len(IMAGE_SUFFIX)] if paired else path.stem] = path
    return images, masks


def detect_layout(folder: str | Path) -> str:
    """Which of LAYOUTS folder is in; UserError naming the folder when it is none of them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"data folder {folder} does not exist")
    if is_dsb_folder(folder):
        return "dsb"
    if (folder / "images").is_dir() and (folder / "masks").is_dir():
        return "pairs"
    if any(is_image_file(path) and path.stem.endswith(MASK_SUFFIX) for path in folder.iterdir()):
        return "cellpose"
    raise UserError(f"{folder} holds no labelled images: expected " + "; or ".join(LAYOUTS.values()))


def open_labelled(folder: str | Path, binary_masks: str = "refuse", channel: int | None = None) -> LabelledFolder:
    """The labelled images of folder in whichever of LAYOUTS it is; UserError when it holds none."""
    folder = Path(folder)
    layout = detect_layout(folder)
    images, masks = {"pairs": _pairs, "cellpose": _cellpose}[layout](folder) if layout != "dsb" else ({}, {})
    opened = LabelledFolder(folder, layout, images, masks, binary_masks, channel)
    if not opened.ids:
        raise UserError(f"{folder}: {LAYOUTS[layout]} without any image")
    return opened
