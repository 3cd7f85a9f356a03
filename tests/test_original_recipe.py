"""The original recipe's re-creation: what it squashes, copies, and how its predictions become nuclei."""

import numpy as np
import pytest

from conftest import benchmark_module

original_recipe = benchmark_module("original_recipe")
OriginalRecipe = original_recipe.OriginalRecipe
predict_labels = original_recipe.predict_labels
training_arrays = original_recipe.training_arrays


class Sample:
    def __init__(self, image, labels):
        self.image, self.labels = image, labels


class FixedProbabilities:
    """Stands in for a Keras model: predict_on_batch returns one fixed size x size probability map."""

    def __init__(self, probabilities):
        self.probabilities = probabilities
        self.inputs = []

    def predict_on_batch(self, batch):
        self.inputs.append(batch)
        return self.probabilities[None, ..., None]


def test_each_image_is_squashed_and_followed_by_its_rotated_copies():
    labels = np.zeros((40, 100), np.int32)
    labels[10:30, 10:30] = 1
    image = np.full((40, 100, 3), 200, np.uint8)
    inputs, targets = training_arrays(
        [Sample(image, labels)] * 3, OriginalRecipe(size=32, copies=2), np.random.default_rng(0)
    )
    assert inputs.shape == (9, 32, 32, 3) and targets.shape == (9, 32, 32, 1)
    assert inputs.dtype == targets.dtype == np.float32
    assert inputs[0].max() == pytest.approx(200 / 255) and 0 <= targets.min() and targets.max() <= 1
    square = targets[0, ..., 0] > 0.5
    rows, columns = np.nonzero(square)
    assert np.ptp(rows) > 1.5 * np.ptp(columns), "a square nucleus in a wide image is squashed into a tall one"
    assert not np.array_equal(targets[1], targets[0]) and not np.array_equal(targets[2], targets[1])


def test_prediction_is_resized_back_to_the_image_and_cut_into_8_connected_components():
    probabilities = np.zeros((32, 32), np.float32)
    probabilities[4:12, 4:12] = 0.9
    probabilities[12:20, 12:20] = 0.9
    probabilities[24:30, 2:8] = 0.6
    probabilities[24:30, 20:28] = 0.4
    model = FixedProbabilities(probabilities)
    image = np.zeros((64, 128, 3), np.uint8)
    labels = predict_labels(model, image, OriginalRecipe(size=32))
    assert model.inputs[0].shape == (1, 32, 32, 3)
    assert labels.shape == (64, 128) and labels.max() == 2, "diagonal neighbours join; 0.4 is below the threshold"
    assert np.count_nonzero(labels == labels[40, 70]) > np.count_nonzero(labels == labels[52, 16])


@pytest.mark.parametrize(
    "field, value", [("size", 0), ("epochs", 0), ("batch_size", 0), ("copies", -1), ("threshold", 1.0)]
)
def test_settings_out_of_range_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        OriginalRecipe(**{field: value})
