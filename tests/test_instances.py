"""From probability maps to nuclei (nuclei.prediction.instances), the post-processing's tuning (tuning), and
whole-image prediction (inference)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from nuclei.data.targets import make_targets, nucleus_boundary
from nuclei.evaluation.metric import image_score
from nuclei.evaluation.rle import labels_to_rles, rles_to_labels
from nuclei.prediction import instances


def touching_pair():
    labels = np.zeros((20, 30), dtype=np.int32)
    labels[5:15, 3:14] = 1
    labels[5:15, 14:26] = 2
    return labels


def test_boundary_is_the_inner_rim_of_every_nucleus_and_parts_touching_ones():
    labels = touching_pair()
    boundary = nucleus_boundary(labels, width=2)
    assert not (boundary & (labels == 0)).any()
    assert boundary[5:7, 3:26].all() and boundary[13:15, 3:26].all()
    assert boundary[5:15, 12:16].all()
    interior = (labels > 0) & ~boundary
    assert interior[7:13, 5:12].all() and interior[7:13, 16:24].all()
    assert not interior[:, 12:16].any()
    parts, count = ndimage.label(interior)
    assert count == 2


def test_border_watershed_separates_touching_nuclei_that_components_merge():
    truth = touching_pair()
    probabilities = make_targets(truth).astype(np.float32)
    merged = instances.label_nuclei(probabilities, {"method": "connected_components", "threshold": 0.5})
    separated = instances.label_nuclei(
        probabilities, {"method": "border_watershed", "threshold": 0.5, "border_threshold": 0.5}
    )
    assert merged.max() == 1
    assert separated.max() == 2
    assert image_score(truth, separated) == 1.0


def test_distance_watershed_splits_two_discs():
    yy, xx = np.mgrid[:40, :60]
    mask = ((yy - 20) ** 2 + (xx - 18) ** 2 < 121) | ((yy - 20) ** 2 + (xx - 38) ** 2 < 121)
    labels = instances.label_nuclei(mask[..., None].astype(np.float32), {"method": "distance_watershed"})
    assert labels.max() == 2


def test_every_method_is_named_as_postprocessing_json_names_it_and_others_are_refused():
    assert instances.METHODS == {
        "connected_components": instances.connected_components,
        "border_watershed": instances.border_watershed,
        "distance_watershed": instances.distance_watershed,
    }
    assert instances.DEFAULT_POSTPROCESSING["method"] in instances.METHODS
    with pytest.raises(ValueError, match="unknown post-processing method 'otsu'"):
        instances.label_nuclei(np.zeros((4, 4, 2), np.float32), {"method": "otsu"})


def test_min_size_drops_small_nuclei_and_renumbers():
    labels = np.zeros((10, 10), dtype=np.int32)
    labels[0:2, 0:2] = 5
    labels[4:9, 4:9] = 9
    filtered = instances.filter_small(labels, 5)
    assert set(np.unique(filtered)) == {0, 1}
    assert np.count_nonzero(filtered) == 25


def faint_and_strong_nuclei():
    """Two separate 6 x 6 nuclei in a nucleus-probability map: mean probability 0.95 and 0.7 (a faint blob)."""
    truth = np.zeros((20, 30), dtype=np.int32)
    truth[4:10, 4:10] = 1
    probabilities = np.zeros((20, 30, 2), dtype=np.float32)
    probabilities[4:10, 4:10, 0] = 0.95
    probabilities[4:10, 18:24, 0] = 0.7
    return truth, probabilities


def test_min_confidence_drops_nuclei_whose_mean_probability_is_below_it():
    truth, probabilities = faint_and_strong_nuclei()
    parameters = {"method": "border_watershed", "threshold": 0.5, "border_threshold": 0.5, "min_size": 0}
    both = instances.label_nuclei(probabilities, parameters)
    assert both.max() == 2
    confident = instances.label_nuclei(probabilities, {**parameters, "min_confidence": 0.8})
    assert confident.max() == 1
    assert np.array_equal(confident > 0, truth > 0)
    assert instances.label_nuclei(probabilities, {**parameters, "min_confidence": 0.6}).max() == 2


def test_tuning_drops_faint_false_nuclei_and_its_score_is_what_the_parameters_give():
    """The tuning scores confidences by dropping IoU columns; labelling with its choice must score the same."""
    from nuclei.prediction.tuning import tune_postprocessing

    truth, probabilities = faint_and_strong_nuclei()
    best, score, table = tune_postprocessing([probabilities], [truth])
    assert best["min_confidence"] > 0.7
    assert score == table[0]["score"] == 1.0
    assert image_score(truth, instances.label_nuclei(probabilities, best)) == score
    assert max(row["score"] for row in table if row["min_confidence"] == 0.0) == 0.5


@settings(max_examples=50, deadline=None)
@given(arrays(np.int32, (16, 16), elements=st.integers(0, 4)))
def test_random_label_images_survive_the_instance_pipeline(labels):
    """A perfect prediction of any label image gives non-overlapping nuclei that survive RLE."""
    probabilities = make_targets(labels).astype(np.float32)
    predicted = instances.label_nuclei(probabilities, {"method": "border_watershed", "min_size": 0})
    assert np.array_equal(predicted > 0, labels > 0)
    assert np.array_equal(rles_to_labels(labels_to_rles(predicted), predicted.shape), predicted)


def test_tiled_prediction_equals_whole_image_prediction_for_a_pixelwise_model():
    """Tiles are stitched back exactly: a per-pixel model gives the same map tiled or whole."""
    from nuclei import runtime

    runtime.import_tensorflow()
    import keras

    from nuclei.prediction.inference import predict_probabilities

    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1, activation="sigmoid")(inputs))
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (300, 410, 3), dtype=np.uint8), rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)]
    whole = dict(predict_probabilities(model, images, tile_size=1024, margin=32, progress=False))
    tiled = dict(predict_probabilities(model, images, tile_size=128, margin=32, progress=False))
    for index, image in enumerate(images):
        assert whole[index].shape == (*image.shape[:2], 2)
        np.testing.assert_allclose(tiled[index], whole[index], atol=1e-6)


def test_padding_to_a_multiple_keeps_the_image_at_the_top_left():
    from nuclei.prediction.inference import pad_to_multiple

    image = np.ones((30, 17, 3), np.float32)
    padded, size = pad_to_multiple(image, 16)
    assert padded.shape == (32, 32, 3) and size == (30, 17)
    assert padded[:30, :17].all() and not padded[30:].any() and not padded[:, 17:].any()
    same, _ = pad_to_multiple(np.ones((32, 16)), 16)
    assert same.shape == (32, 16)
