"""Reading a lab's images as they are (nuclei.data.raw): formats, bit depths, channels, and the one line
that names a file the suite cannot use."""

import cv2
import numpy as np
import pytest
import tifffile

from nuclei.data.raw import RawImage, intensity_plane, read_raw, stretch_to_uint8, to_rgb8
from nuclei.errors import DataError


def nuclei_picture(low=100, high=3000, dtype=np.uint16):
    """A dim background with three bright nuclei fading towards their rims, in the given raw range."""
    rows, columns = np.mgrid[:64, :80]
    picture = np.zeros((64, 80))
    for y, x in ((15, 20), (40, 50), (30, 70)):
        picture = np.maximum(picture, np.exp(-((rows - y) ** 2 + (columns - x) ** 2) / 50.0))
    return (low + (high - low) * picture).round().astype(dtype)


def test_a_twelve_bit_image_keeps_its_grey_levels_where_dividing_by_the_type_maximum_left_a_handful(tmp_path):
    raw = nuclei_picture()
    tifffile.imwrite(tmp_path / "twelve bit (1).tif", raw, compression="zlib")
    image = to_rgb8(read_raw(tmp_path / "twelve bit (1).tif"))
    linear = (raw.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    assert image.shape == (64, 80, 3) and image.dtype == np.uint8
    assert len(np.unique(linear)) <= 13
    assert len(np.unique(image[:, :, 0])) > 4 * len(np.unique(linear))
    assert image[40, 50, 0] >= 250 and image[60, 2, 0] == 0, "nuclei bright, background dark"


def test_eight_bit_values_reach_the_network_unchanged_whatever_the_format(tmp_path):
    raw = nuclei_picture(20, 200, np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), raw)
    tifffile.imwrite(tmp_path / "grey.tif", raw)
    for name in ("grey.png", "grey.tif"):
        image = to_rgb8(read_raw(tmp_path / name))
        assert np.array_equal(image[:, :, 1], raw), name


def test_float_and_sixteen_bit_images_give_the_same_picture(tmp_path):
    raw = nuclei_picture(500, 30000)
    tifffile.imwrite(tmp_path / "a.tif", raw)
    tifffile.imwrite(tmp_path / "b.tif", raw.astype(np.float32) / 30000)
    cv2.imwrite(str(tmp_path / "c.png"), raw)
    pictures = [to_rgb8(read_raw(tmp_path / name)) for name in ("a.tif", "b.tif", "c.png")]
    assert np.abs(pictures[0].astype(int) - pictures[1]).max() <= 1
    assert np.array_equal(pictures[0], pictures[2])


def test_colour_pngs_are_rgb_and_lose_their_alpha(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    cv2.imwrite(str(tmp_path / "red.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    raw = read_raw(tmp_path / "red.png")
    assert raw.rgb and raw.channels == 4
    image = to_rgb8(raw)
    assert image.shape == (10, 12, 3) and tuple(image[0, 0]) == (200, 0, 0)


def test_a_hyperstack_channel_is_chosen_with_channel_and_measured_in_raw_values(tmp_path):
    nuclei, other = nuclei_picture(), np.full((64, 80), 7, np.uint16)
    tifffile.imwrite(tmp_path / "two.tif", np.stack([other, nuclei]), imagej=True, metadata={"axes": "CYX"})
    raw = read_raw(tmp_path / "two.tif")
    assert raw.channels == 2 and not raw.rgb
    assert np.array_equal(intensity_plane(raw, 2), nuclei)
    assert to_rgb8(raw, 2)[40, 50, 0] >= 250
    with pytest.raises(DataError, match="two.tif: 2 channels; tell which one holds the nuclei with --channel"):
        to_rgb8(raw, name=str(tmp_path / "two.tif"))
    with pytest.raises(DataError, match="has no channel 3 \\(it has 2\\)"):
        to_rgb8(raw, 3)


def test_pages_without_axes_are_channels_and_stacks_are_refused_in_one_line(tmp_path):
    pages = np.stack([nuclei_picture(), nuclei_picture(0, 10)])
    tifffile.imwrite(tmp_path / "pages.tif", pages)
    assert read_raw(tmp_path / "pages.tif").channels == 2
    tifffile.imwrite(tmp_path / "stack.tif", np.stack([pages, pages, pages]), imagej=True, metadata={"axes": "ZCYX"})
    with pytest.raises(DataError, match="stack.tif: a stack \\(Z 3, C 2\\)"):
        read_raw(tmp_path / "stack.tif")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.png", b"", "missing or empty file"),
        ("text.png", b"not a picture", "not a readable image"),
        ("broken.tif", b"II*\x00garbage", "not a readable TIFF"),
    ],
)
def test_unreadable_files_are_one_line_naming_them(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=f"{name}: {message}"):
        read_raw(tmp_path / name)


def test_stretching_copes_with_flat_and_not_a_number_values():
    assert not stretch_to_uint8(np.full((4, 4), 9.0)).any()
    values = np.array([[np.nan, 0.0], [1.0, 2.0]])
    assert stretch_to_uint8(values)[0, 0] == stretch_to_uint8(values).min()
    assert not stretch_to_uint8(np.full((2, 2), np.nan)).any()
    assert to_rgb8(RawImage(np.zeros((3, 3), np.int32), rgb=False)).shape == (3, 3, 3)


def test_tiff_axes_of_size_one_are_dropped_by_position_and_colour_needs_rgb_photometric(tmp_path):
    planes = np.stack([nuclei_picture(0, 100 * (n + 1)) for n in range(5)])
    tifffile.imwrite(tmp_path / "a.tif", planes[None])
    tifffile.imwrite(tmp_path / "b.tif", planes[:, None])
    assert read_raw(tmp_path / "a.tif").channels == read_raw(tmp_path / "b.tif").channels == 5
    stains = np.stack([nuclei_picture()] * 3, axis=-1)
    tifffile.imwrite(tmp_path / "stains.tif", stains, photometric="minisblack")
    tifffile.imwrite(tmp_path / "colour.tif", stains, photometric="rgb")
    assert not read_raw(tmp_path / "stains.tif").rgb, "three stains are not a colour picture: --channel decides"
    assert read_raw(tmp_path / "colour.tif").rgb
