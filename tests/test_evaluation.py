"""The competition's metric (nuclei.evaluation.metric), its run-length encoding (rle) and per-type scores (scores)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nuclei.evaluation.metric import dice, image_score, image_scores_of_subsets, iou_matrix
from nuclei.evaluation.rle import labels_to_rles, rle_decode, rle_encode, rles_to_labels
from nuclei.evaluation.scores import format_summary, score_labels, summarise


def square(shape, top, left, size, value=1):
    labels = np.zeros(shape, dtype=np.int32)
    labels[top : top + size, left : left + size] = value
    return labels


def test_rle_is_one_indexed_column_major():
    mask = np.array([[0, 1], [1, 1]], dtype=bool)
    assert rle_encode(mask) == "2 3"
    mask = np.array([[1, 0], [0, 1]], dtype=bool)
    assert rle_encode(mask) == "1 1 4 1"
    assert rle_encode(np.zeros((3, 3))) == ""


def test_rle_decode_rejects_runs_outside_the_image():
    with pytest.raises(ValueError):
        rle_decode("8 3", (3, 3))
    with pytest.raises(ValueError):
        rle_decode("1", (3, 3))


@settings(max_examples=200, deadline=None)
@given(arrays(np.bool_, st.tuples(st.integers(1, 20), st.integers(1, 20))))
def test_rle_round_trip(mask):
    assert np.array_equal(rle_decode(rle_encode(mask), mask.shape), mask)


def test_labels_round_trip_through_rles():
    labels = np.zeros((10, 12), dtype=np.int32)
    labels[1:4, 1:4] = 1
    labels[5:9, 2:10] = 2
    labels[0, 11] = 3
    assert np.array_equal(rles_to_labels(labels_to_rles(labels), labels.shape), labels)


def test_empty_truth_and_empty_prediction():
    empty = np.zeros((8, 8), dtype=np.int32)
    one = square((8, 8), 2, 2, 3)
    assert image_score(empty, empty) == 1.0
    assert image_score(empty, one) == 0.0
    assert image_score(one, empty) == 0.0


def test_perfect_match_scores_one():
    labels = square((20, 20), 1, 1, 5) + square((20, 20), 10, 10, 6, value=2)
    assert image_score(labels, labels) == 1.0


def test_iou_matrix_by_hand():
    truth = square((10, 10), 0, 0, 4)
    prediction = square((10, 10), 0, 0, 2)
    assert iou_matrix(truth, prediction) == pytest.approx(np.array([[4 / 16]]))


def test_split_nucleus():
    truth = square((10, 10), 0, 0, 4)
    prediction = np.zeros((10, 10), dtype=np.int32)
    prediction[0:4, 0:3] = 1
    prediction[0:4, 3:4] = 2
    # IoU of the big half is 12/16 = 0.75: a true positive up to threshold 0.70, with one FP (the sliver)
    expected = np.mean([1 / 2 if t < 0.75 else 0 / 3 for t in np.arange(0.5, 1.0, 0.05)])
    assert image_score(truth, prediction) == pytest.approx(expected)


def test_merged_pair():
    truth = square((10, 10), 0, 0, 3) + square((10, 10), 0, 3, 3, value=2)
    prediction = (truth > 0).astype(np.int32)
    # the merged blob has IoU 0.5 with each nucleus: never above any threshold -> 0 TP, 1 FP, 2 FN
    assert image_score(truth, prediction) == 0.0


def test_partial_overlap_precision_by_threshold():
    truth = square((10, 10), 0, 0, 10)
    prediction = np.zeros((10, 10), dtype=np.int32)
    prediction[:, :8] = 1
    # IoU 0.8: matched at thresholds 0.50 .. 0.75 (6 of 10)
    assert image_score(truth, prediction) == pytest.approx(0.6)


def test_dice():
    assert dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert dice(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])) == pytest.approx(2 / 3)


def test_iou_matrix_with_sparse_label_values_matches_dense_ones():
    dense = square((12, 12), 0, 0, 4) + square((12, 12), 6, 6, 4, value=2)
    sparse = np.where(dense == 1, 7, np.where(dense == 2, 60000, 0))
    prediction = square((12, 12), 0, 0, 3, value=5)
    assert np.allclose(iou_matrix(dense, prediction), iou_matrix(sparse, prediction))
    huge = np.where(prediction > 0, 65000, 0)
    assert np.allclose(iou_matrix(sparse, huge), iou_matrix(dense, prediction))


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.int32, (12, 12), elements=st.integers(0, 5)),
    arrays(np.int32, (12, 12), elements=st.integers(0, 7)),
    st.lists(arrays(bool, 8), min_size=1, max_size=4),
)
def test_scores_of_subsets_equal_scoring_each_filtered_labelling(truth, prediction, keeps):
    """The tuning scores every filter from one IoU matrix; it must agree with filtering, then scoring."""
    from nuclei.prediction.instances import keep_only

    expected = [image_score(truth, keep_only(prediction, keep)) for keep in keeps]
    assert image_scores_of_subsets(truth, prediction, keeps) == pytest.approx(expected)


def test_scores_of_subsets_follow_sparse_label_values():
    """Label values too large for a dense pair count are compacted; a keep still names the original values."""
    truth = square((12, 12), 0, 0, 4) + square((12, 12), 6, 6, 4, value=60000)
    prediction = square((12, 12), 0, 0, 4, value=65000) + square((12, 12), 6, 6, 4, value=3)
    keep_first = np.zeros(65001, dtype=bool)
    keep_first[65000] = True
    keep_both = keep_first.copy()
    keep_both[3] = True
    assert image_scores_of_subsets(truth, prediction, [keep_first, keep_both]) == [0.5, 1.0]


def test_scores_of_an_image_and_their_summary_per_type():
    truth = square((10, 10), 0, 0, 4) + square((10, 10), 6, 6, 3, value=2)
    prediction = square((10, 10), 0, 0, 4, value=7)
    scores = score_labels(truth, prediction)
    assert scores == {
        "dice": pytest.approx(2 * 16 / (25 + 16)),
        "score": pytest.approx(0.5),
        "predicted_nuclei": 7,
        "true_nuclei": 2,
    }
    rows = [
        {"image_type": "histology", "score": 0.5},
        {"image_type": "fluorescence", "score": 1.0},
        {"image_type": "fluorescence", "score": 0.0},
    ]
    summary = summarise(rows, "score")
    assert summary == {"all": (pytest.approx(0.5), 3), "fluorescence": (0.5, 2), "histology": (0.5, 1)}
    assert format_summary(summary, "score") == "score: 0.500 overall (3), fluorescence 0.500 (2), histology 0.500 (1)"
