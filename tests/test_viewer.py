"""The viewer's pictures (nuclei.viewer): each nucleus in its colour, outlines over the image, and the figure
written where no window can open. test_viewer_windows.py shows them in real windows."""

import numpy as np

from nuclei import pictures, viewer
from nuclei.data.dsb import Sample


def two_nuclei():
    labels = np.zeros((20, 30), np.int32)
    labels[2:8, 2:8] = 1
    labels[10:18, 12:25] = 2
    return labels


def test_each_nucleus_gets_its_own_bright_colour_on_black():
    picture = pictures.colour_labels(two_nuclei())
    assert picture.shape == (20, 30, 3) and picture.dtype == np.uint8
    assert not picture[0, 0].any()
    first, second = picture[4, 4], picture[14, 20]
    assert first.min() >= 64 and second.min() >= 64 and not np.array_equal(first, second)


def test_the_overlay_draws_predicted_outlines_over_true_ones():
    image = np.zeros((20, 30, 3), np.uint8)
    truth = two_nuclei()
    predicted = np.where(truth == 1, 1, 0)
    picture = pictures.overlay(image, predicted, truth)
    assert tuple(picture[2, 4]) == pictures.PREDICTED_OUTLINE, "where both outlines run, the prediction's shows"
    assert tuple(picture[10, 20]) == pictures.TRUE_OUTLINE
    assert not picture[5, 5].any() and not image.any(), "inside stays the image's, which is left as it was"


def test_panels_and_figure_of_a_predicted_sample(tmp_path, monkeypatch):
    truth = two_nuclei()
    sample = Sample("0123456789abcdef" * 4, np.full((20, 30, 3), 40, np.uint8), truth)
    pictures, caption = viewer.panels(sample, np.where(truth == 1, 1, 0))
    assert set(pictures) == set(viewer.WINDOWS)
    assert caption.startswith("0123456789ab  Dice ") and caption.endswith("nuclei 1/2")
    viewer.save_figure(tmp_path / "figure.png", sample, pictures, caption)
    assert (tmp_path / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert viewer.display_problem() == "no display (DISPLAY is not set)"


def test_an_unlabelled_image_is_shown_with_its_count_and_no_score():
    sample = Sample("Well A1 (1)", np.full((20, 30, 3), 40, np.uint8), None)
    shown, caption = viewer.panels(sample, two_nuclei())
    assert caption == "Well A1 (1)  nuclei 2", "a name of its own is shown whole"
    assert tuple(shown["overlay"][2, 4]) == pictures.PREDICTED_OUTLINE
