import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

import instances
from competition_metric import image_score, labels_to_rles, rles_to_labels
from data_preprocessing import TARGET_SCALE, centreness, make_targets


def touching_pair():
    labels = np.zeros((20, 30), dtype=np.int32)
    labels[5:15, 3:14] = 1
    labels[5:15, 14:26] = 2
    return labels


def perfect_prediction(labels):
    return make_targets(labels).astype(np.float32) / TARGET_SCALE


def test_centreness_peaks_at_one_in_every_nucleus_and_falls_to_zero_where_nuclei_touch():
    labels = touching_pair()
    labels[0:3, 0:3] = 3
    centre = centreness(labels)
    assert centre.dtype == np.float32 and centre.min() >= 0.0 and centre.max() <= 1.0
    assert not centre[labels == 0].any()
    for label in (1, 2, 3):
        assert centre[labels == label].max() == pytest.approx(1.0)
    assert not centre[5:15, 13:15].any()
    assert (centre[5:15, 12] > 0).all() and (centre[5:15, 15] > 0).all()
    high, count = ndimage.label(centre > 0.5)
    assert count == 3


def test_make_targets_keeps_the_centreness_to_uint8_precision():
    labels = touching_pair()
    targets = make_targets(labels)
    assert targets.dtype == np.uint8 and targets.shape == (*labels.shape, 2)
    assert set(np.unique(targets[..., 0])) == {0, TARGET_SCALE}
    np.testing.assert_allclose(targets[..., 1] / TARGET_SCALE, centreness(labels), atol=0.5 / TARGET_SCALE)


def test_centre_watershed_separates_touching_nuclei_that_components_merge():
    truth = touching_pair()
    probabilities = perfect_prediction(truth)
    merged = instances.label_nuclei(probabilities, {"method": "connected_components", "threshold": 0.5})
    separated = instances.label_nuclei(
        probabilities, {"method": "centre_watershed", "threshold": 0.5, "centre_threshold": 0.35}
    )
    assert merged.max() == 1
    assert separated.max() == 2
    assert image_score(truth, separated) == 1.0


def test_centre_watershed_separates_touching_discs_from_a_blurred_prediction():
    yy, xx = np.mgrid[:40, :60]
    truth = np.zeros((40, 60), dtype=np.int32)
    truth[(yy - 20) ** 2 + (xx - 19) ** 2 < 100] = 1
    truth[(yy - 20) ** 2 + (xx - 38) ** 2 < 100] = 2
    blurred = np.stack(
        [ndimage.gaussian_filter(channel, 1.0) for channel in np.moveaxis(perfect_prediction(truth), -1, 0)], -1
    )
    labels = instances.label_nuclei(blurred, {"method": "centre_watershed", "threshold": 0.5, "centre_threshold": 0.35})
    assert labels.max() == 2
    assert image_score(truth, labels) >= 0.8


def test_border_watershed_of_older_models_still_separates_by_the_rim():
    truth = touching_pair()
    interior = np.zeros_like(truth, dtype=bool)
    for label in (1, 2):
        interior |= ndimage.binary_erosion(truth == label, iterations=2)
    probabilities = np.stack([truth > 0, (truth > 0) & ~interior], -1).astype(np.float32)
    separated = instances.label_nuclei(
        probabilities, {"method": "border_watershed", "threshold": 0.5, "border_threshold": 0.5}
    )
    assert separated.max() == 2
    assert image_score(truth, separated) == 1.0


def test_distance_watershed_splits_two_discs():
    yy, xx = np.mgrid[:40, :60]
    mask = ((yy - 20) ** 2 + (xx - 18) ** 2 < 121) | ((yy - 20) ** 2 + (xx - 38) ** 2 < 121)
    labels = instances.label_nuclei(mask[..., None].astype(np.float32), {"method": "distance_watershed"})
    assert labels.max() == 2


def test_min_size_drops_small_nuclei_and_renumbers():
    labels = np.zeros((10, 10), dtype=np.int32)
    labels[0:2, 0:2] = 5
    labels[4:9, 4:9] = 9
    filtered = instances.filter_small(labels, 5)
    assert set(np.unique(filtered)) == {0, 1}
    assert np.count_nonzero(filtered) == 25


@settings(max_examples=50, deadline=None)
@given(arrays(np.int32, (16, 16), elements=st.integers(0, 4)))
def test_random_label_images_survive_the_instance_pipeline(labels):
    """A perfect prediction of any label image gives non-overlapping nuclei that survive RLE."""
    predicted = instances.label_nuclei(perfect_prediction(labels), {"method": "centre_watershed", "min_size": 0})
    assert np.array_equal(predicted > 0, labels > 0)
    assert np.array_equal(rles_to_labels(labels_to_rles(predicted), predicted.shape), predicted)


def test_tiled_prediction_equals_whole_image_prediction_for_a_pixelwise_model():
    """Tiles are stitched back exactly: a per-pixel model gives the same map tiled or whole."""
    import cli

    cli.import_tensorflow()
    import keras

    from inference import predict_probabilities

    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1, activation="sigmoid")(inputs))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (300, 410, 3), dtype=np.uint8), rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)]
    whole = dict(predict_probabilities(model, images, tile_size=1024, margin=32, progress=False))
    tiled = dict(predict_probabilities(model, images, tile_size=128, margin=32, progress=False))
    for index, image in enumerate(images):
        assert whole[index].shape == (*image.shape[:2], 2)
        np.testing.assert_allclose(tiled[index], whole[index], atol=1e-6)
