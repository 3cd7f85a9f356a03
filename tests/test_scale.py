"""Nucleus sizes (nuclei.data.sizes) and matching an image's nuclei to the trained size (nuclei.prediction.scale)."""

import math

import numpy as np
import pytest

from nuclei.data.sizes import TrainedSizes, median_diameter, training_sizes
from nuclei.options import diameter_of
from nuclei.prediction import scale

SIZES = TrainedSizes(median=20.0, low=10.0, high=50.0)


def discs(size, radius, count, shape=(256, 256)):
    """A label map of count discs of radius pixels on a grid, and the same as an RGB image."""
    labels = np.zeros(shape, np.int32)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    step = shape[1] // int(math.ceil(math.sqrt(count)))
    number = 0
    for top in range(step // 2, shape[0], step):
        for left in range(step // 2, shape[1], step):
            if number == count:
                break
            number += 1
            labels[(yy - top) ** 2 + (xx - left) ** 2 < radius**2] = number
    return labels


def test_median_diameter_is_that_of_the_equal_area_disc():
    labels = discs(256, 10, 9)
    assert median_diameter(labels) == pytest.approx(20, abs=0.5)
    assert median_diameter(np.zeros((5, 5), np.int32)) == 0.0
    sizes = training_sizes([labels, discs(256, 5, 4), np.zeros((4, 4), np.int32)])
    assert sizes.median == pytest.approx(15, abs=0.5)
    assert sizes.low == pytest.approx(10, abs=1) and sizes.high == pytest.approx(20, abs=1)
    assert training_sizes([np.zeros((4, 4), np.int32)]) is None


def test_factor_leaves_nearly_right_sizes_alone_and_clips_the_rest():
    assert scale.factor_for(20, 18) == 1.0
    assert scale.factor_for(80, 20) == pytest.approx(0.25)
    assert scale.factor_for(2, 20) == scale.FACTOR_LIMITS[1]
    assert scale.factor_for(1000, 20) == scale.FACTOR_LIMITS[0]
    assert scale.factor_for(0, 20) == 1.0


def test_auto_resizes_only_sizes_the_model_has_not_seen():
    assert scale.auto_factor(40, SIZES) == 1.0
    assert scale.auto_factor(80, SIZES) == pytest.approx(0.25)
    assert scale.auto_factor(0, SIZES) == 1.0


def test_the_probe_nearest_the_trained_size_tells_the_diameter():
    """At full size the network broke the 80-pixel nuclei into 15-pixel fragments; at a quarter it found them
    whole at 20: the quarter is believed, and the nuclei are 80 pixels across."""
    probes = {1.0: discs(256, 7.5, 30), 0.5: discs(256, 20, 9), 0.25: discs(256, 10, 9)}
    measured = {factor: scale.probe_diameter(labels) for factor, labels in probes.items()}
    assert scale.estimate_diameter(measured, 20.0) == pytest.approx(80, rel=0.05)
    assert scale.estimate_diameter({1.0: scale.probe_diameter(np.zeros((8, 8), np.int32))}, 20.0) == 0.0


def test_min_size_follows_the_resizing():
    parameters = {"method": "border_watershed", "min_size": 40}
    assert scale.scaled_parameters(parameters, 0.5)["min_size"] == 160
    assert scale.scaled_parameters(parameters, 1.0) is parameters


class DiscFinder:
    """A stand-in network that sees nuclei only at 16 to 28 pixels across: its probability is the image's
    bright pixels where they form blobs of that size (measured by an opening), else nothing."""

    def __call__(self, batch, training=False):
        import cv2

        outputs = []
        for image in np.asarray(batch):
            bright = (image[..., 0] > 0.5).astype(np.uint8)
            found, labels = cv2.connectedComponents(bright)
            keep = np.zeros(found, bool)
            for number in range(1, found):
                diameter = 2 * math.sqrt((labels == number).sum() / math.pi)
                keep[number] = 16 <= diameter <= 28
            nucleus = keep[labels].astype(np.float32)
            outputs.append(np.stack([nucleus, np.zeros_like(nucleus)], axis=-1))
        return np.stack(outputs)


def test_segment_finds_large_nuclei_by_resizing_and_labels_them_at_the_images_own_size(monkeypatch):
    labels = discs(512, 40, 9, shape=(512, 512))
    image = np.repeat(np.where(labels > 0, 200, 10).astype(np.uint8)[..., None], 3, axis=2)
    model = DiscFinder()
    monkeypatch.setattr(scale, "predict_probabilities", fake_predictions(model))
    parameters = {"method": "connected_components", "threshold": 0.5, "min_size": 0}
    ((_, as_is, factor, _),) = scale.segment(model, [image], parameters, trained=SIZES, diameter=None)
    assert as_is.max() == 0 and factor == 1.0
    ((_, found, factor, _),) = scale.segment(model, [image], parameters, trained=SIZES, diameter="auto")
    assert factor == pytest.approx(0.25, rel=0.1) and found.shape == labels.shape
    assert found.max() == 9 and median_diameter(found) == pytest.approx(80, rel=0.1)
    ((_, told, factor, _),) = scale.segment(model, [image], parameters, trained=SIZES, diameter=80)
    assert factor == 0.25 and told.max() == 9


def fake_predictions(model):
    from nuclei.data.normalisation import model_input

    def predict(the_model, images, **options):
        for index, image in enumerate(images):
            yield index, model(model_input(image)[None])[0]

    return predict


@pytest.mark.parametrize("text, value", [("auto", "auto"), ("off", None), ("35", 35.0), ("12.5", 12.5)])
def test_diameter_option_values(text, value):
    assert diameter_of(text) == value


@pytest.mark.parametrize("text", ["0", "-3", "big", "inf", "nan"])
def test_diameter_option_refuses_nonsense(text):
    with pytest.raises(ValueError, match="--diameter"):
        diameter_of(text)


def test_specks_of_noise_do_not_make_nuclei_look_tiny():
    speckled = discs(256, 10, 9)
    speckled[::7, ::7] = np.arange(100, 100 + speckled[::7, ::7].size).reshape(speckled[::7, ::7].shape)
    assert median_diameter(speckled) < 2
    assert scale.estimate_diameter({1.0: scale.probe_diameter(speckled)}, 20.0) == pytest.approx(20, abs=1)


def test_a_small_image_is_shrunk_no_further_than_its_shorter_side_allows_both_sides_alike():
    factor = scale.effective_factor((64, 300, 3), 0.25)
    assert factor == pytest.approx(0.5)
    assert scale.resized(np.zeros((64, 300, 3), np.uint8), factor).shape == (32, 150, 3)
    assert scale.effective_factor((1000, 1000), 0.25) == 0.25 and scale.effective_factor((20, 20), 0.5) == 1.0


def test_a_folder_with_a_malformed_size_record_is_treated_as_having_none():
    from nuclei.prediction.opening import trained_sizes_of

    assert trained_sizes_of({"nucleus_diameter": 18.0, "nucleus_diameter_range": [9.0, 52.0]}) == (18.0, 9.0, 52.0)
    for broken in ([9.0], "9-52", None, [9.0, "x"], [0, 52.0]):
        assert trained_sizes_of({"nucleus_diameter": 18.0, "nucleus_diameter_range": broken}) is None
    assert trained_sizes_of({}) is None


@pytest.mark.parametrize("text", ["0.01,1", "0.5,inf", "0.5,nan", "1.5,2", "0.5"])
def test_zoom_option_refuses_ranges_that_would_blow_up_the_crop_window(text):
    import argparse

    from nuclei.cli import zoom_range

    with pytest.raises(argparse.ArgumentTypeError, match="--zoom"):
        zoom_range(text)
