"""Labelled images in a lab's layouts (nuclei.data.annotations): detected from the folder, read as label images,
and each bad annotation one line naming its file."""

import cv2
import numpy as np
import pytest
import tifffile

from nuclei.data.annotations import detect_layout, open_labelled, read_label_image
from nuclei.errors import DataError, UserError

COLOURED = np.random.default_rng(0).integers(0, 9, (40, 50, 3), np.uint8)
"""A colour picture saved where a label image was expected."""


def labels_and_image():
    """Two touching squares and a separate one, as labels and as a grey picture of them."""
    labels = np.zeros((40, 50), np.uint16)
    labels[5:15, 5:15], labels[5:15, 15:25], labels[25:35, 30:40] = 3, 7, 9
    image = np.where(labels > 0, 200, 20).astype(np.uint8)
    return labels, image


def write_pairs(folder, names=("a", "b")):
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    labels, image = labels_and_image()
    for name in names:
        cv2.imwrite(str(folder / "images" / f"{name}.png"), image)
        tifffile.imwrite(folder / "masks" / f"{name}.tif", labels)
    return folder


def test_layouts_are_detected_and_said_in_one_line(tmp_path, sample_dir):
    assert detect_layout(sample_dir / "stage1_train") == "dsb"
    pairs = open_labelled(write_pairs(tmp_path / "pairs"))
    assert pairs.layout == "pairs" and pairs.ids == ["a", "b"]
    assert pairs.describe() == f"{tmp_path / 'pairs'}: image + label-image pairs (images/NAME, masks/NAME), 2 images"
    cellpose = tmp_path / "cellpose"
    cellpose.mkdir()
    labels, image = labels_and_image()
    tifffile.imwrite(cellpose / "img 1.tif", image.astype(np.uint16) * 100)
    tifffile.imwrite(cellpose / "img 1_masks.tif", labels.astype(np.uint32))
    tifffile.imwrite(cellpose / "img 1_flows.tif", np.zeros((3, 40, 50), np.float32), photometric="minisblack")
    opened = open_labelled(cellpose)
    assert opened.layout == "cellpose" and opened.ids == ["img 1"]
    sample = opened.read("img 1")
    assert sample.image.shape == (40, 50, 3) and sample.labels.dtype == np.uint16
    assert sorted(np.unique(sample.labels)) == [0, 1, 2, 3], "renumbered 1..N"
    with pytest.raises(UserError, match="holds no labelled images: expected the DSB layout"):
        open_labelled(tmp_path / "pairs" / "images")


def test_a_binary_mask_is_refused_unless_its_pieces_are_asked_for(tmp_path):
    labels, _ = labels_and_image()
    cv2.imwrite(str(tmp_path / "binary.png"), ((labels > 0) * 255).astype(np.uint8))
    with pytest.raises(DataError, match="binary.png: a binary mask \\(0 and 255\\), in which touching nuclei cannot"):
        read_label_image(tmp_path / "binary.png", (40, 50))
    pieces = read_label_image(tmp_path / "binary.png", (40, 50), "components")
    assert pieces.max() == 2, "the two touching squares are one piece: the reason it is refused by default"
    cv2.imwrite(str(tmp_path / "one.png"), (labels == 9).astype(np.uint8) * 255)
    assert read_label_image(tmp_path / "one.png", (40, 50)).max() == 1, "one nucleus needs no labels to part it"


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda path: tifffile.imwrite(path, np.zeros((40, 50), np.uint16)), "empty annotation \\(no nucleus\\)"),
        (lambda path: tifffile.imwrite(path, np.ones((30, 50), np.uint16)), "is 50x30 but its image is 50x40"),
        (lambda path: tifffile.imwrite(path, np.full((40, 50), 0.5, np.float32)), "holds fractions"),
        (lambda path: tifffile.imwrite(path, COLOURED), "a label image must be one plane"),
        (lambda path: path.write_bytes(b"II*\x00junk"), "not a readable TIFF"),
    ],
)  # fmt: skip
def test_bad_label_images_are_one_line_naming_them(tmp_path, write, message):
    write(tmp_path / "bad.tif")
    with pytest.raises(DataError, match=f"bad.tif: {message}"):
        read_label_image(tmp_path / "bad.tif", (40, 50))


def test_an_image_without_annotation_is_named(tmp_path):
    folder = write_pairs(tmp_path / "pairs")
    cv2.imwrite(str(folder / "images" / "lonely.png"), np.zeros((40, 50), np.uint8))
    opened = open_labelled(folder)
    with pytest.raises(DataError, match="lonely.png: no label image \\(masks/lonely.\\*\\)"):
        opened.read("lonely")
    assert opened.read("lonely", with_labels=False).labels is None


def test_palette_and_alpha_label_pngs_and_cellposes_own_names(tmp_path):
    from PIL import Image

    labels, image = labels_and_image()
    palette = Image.fromarray(labels.astype(np.uint8), mode="P")
    palette.putpalette(list(np.random.default_rng(1).integers(0, 256, 768)))
    palette.save(tmp_path / "palette.png")
    assert read_label_image(tmp_path / "palette.png", (40, 50)).max() == 3, "indices, not the colours of a LUT"
    grey_alpha = np.dstack([labels.astype(np.uint8)] * 3 + [np.full((40, 50), 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "alpha.png"), grey_alpha)
    assert read_label_image(tmp_path / "alpha.png", (40, 50)).max() == 3
    folder = tmp_path / "cellpose"
    folder.mkdir()
    cv2.imwrite(str(folder / "000_img.png"), image)
    cv2.imwrite(str(folder / "000_masks.png"), labels)
    opened = open_labelled(folder)
    assert opened.ids == ["000"] and opened.read("000").labels.max() == 3
    with pytest.raises(DataError, match="renamed: no such image in"):
        opened.read("renamed")
