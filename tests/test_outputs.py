"""What a prediction leaves for a lab (nuclei.prediction.outputs), read back with the field's own readers:
label TIFFs with tifffile, ROI zips with roifile (what Fiji reads), measurements against known shapes."""

import cv2
import numpy as np
import pytest
import tifffile
from roifile import roiread

from nuclei.prediction import outputs


def two_nuclei():
    """A 10x20 rectangle (label 1) and a disc of radius 8 (label 2) on a 60x80 map."""
    labels = np.zeros((60, 80), np.uint16)
    labels[5:15, 10:30] = 1
    cv2.circle(labels, (55, 35), 8, 2, -1)
    return labels


def test_label_images_are_16_bit_tiffs_and_32_bit_above_65535_nuclei(tmp_path):
    outputs.write_label_image(tmp_path / "a_labels.tif", two_nuclei())
    back = tifffile.imread(tmp_path / "a_labels.tif")
    assert back.dtype == np.uint16 and np.array_equal(back, two_nuclei())
    many = np.arange(300 * 300, dtype=np.uint32).reshape(300, 300)
    outputs.write_label_image(tmp_path / "many_labels.tif", many)
    back = tifffile.imread(tmp_path / "many_labels.tif")
    assert back.dtype == np.uint32 and back.max() == 300 * 300 - 1, "no wrap-around above 65,535"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_labels.tif", "many_labels.tif"]


def test_rois_outline_each_nucleus_and_are_named_by_label(tmp_path):
    assert outputs.write_rois(tmp_path / "a_rois.zip", two_nuclei()) == 2
    rois = roiread(tmp_path / "a_rois.zip")
    assert [roi.name for roi in rois] == ["0001", "0002"]
    first = rois[0].coordinates()
    assert (first[:, 0].min(), first[:, 0].max(), first[:, 1].min(), first[:, 1].max()) == (10, 29, 5, 14)
    disc = rois[1].coordinates()
    assert np.allclose(np.hypot(disc[:, 0] - 55, disc[:, 1] - 35), 8, atol=1.0)


def test_an_image_without_nuclei_gets_no_roi_zip(tmp_path):
    assert outputs.write_rois(tmp_path / "none_rois.zip", np.zeros((5, 5), np.uint16)) == 0
    assert not any(tmp_path.iterdir())


def test_measurements_are_in_pixels_and_raw_intensities():
    intensity = np.full((60, 80), 100, np.uint16)
    intensity[two_nuclei() == 2] = 40000
    table = outputs.measure(two_nuclei(), intensity, "A1")
    assert list(table.columns) == [
        "image", "label", "centroid_y", "centroid_x", "area", "perimeter", "equivalent_diameter",
        "eccentricity", "solidity", "intensity_mean", "intensity_min", "intensity_max",
    ]  # fmt: skip
    rectangle, disc = table.to_dict("records")
    assert rectangle["image"] == "A1" and rectangle["area"] == 200 and rectangle["intensity_max"] == 100
    assert (rectangle["centroid_y"], rectangle["centroid_x"]) == (9.5, 19.5)
    assert disc["intensity_mean"] == 40000 and disc["equivalent_diameter"] == pytest.approx(16, abs=0.5)
    assert disc["eccentricity"] < 0.1 and disc["solidity"] > 0.9
    assert outputs.measure(np.zeros((5, 5), np.uint16), np.zeros((5, 5)), "empty").empty


def test_the_image_row_counts_nuclei_and_the_area_they_cover(tmp_path):
    row = outputs.image_row("A1", tmp_path / "A1.tif", two_nuclei(), 0.5)
    assert (row["nuclei"], row["width"], row["height"], row["resize_factor"]) == (2, 80, 60, 0.5)
    assert row["area_fraction"] == pytest.approx((two_nuclei() > 0).mean())


def test_outlines_are_drawn_in_green_over_the_stretched_image(tmp_path):
    image = np.full((60, 80, 3), 10, np.uint8)
    image[two_nuclei() > 0] = 60
    outputs.write_outlines(tmp_path / "a_outlines.png", image, two_nuclei())
    picture = cv2.cvtColor(cv2.imread(str(tmp_path / "a_outlines.png")), cv2.COLOR_BGR2RGB)
    assert tuple(picture[5, 20]) == (0, 255, 0) and tuple(picture[10, 20]) == (255, 255, 255)
    assert tuple(picture[40, 5]) == (0, 0, 0)
