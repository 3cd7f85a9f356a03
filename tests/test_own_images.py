"""A lab's own images through generate_predictions.py --images and show_results.py --images, run as a user
runs them, with the model that comes with the suite: every output read back with the field's readers, bad
files named and skipped, the user's folder untouched."""

import hashlib

import cv2
import numpy as np
import pandas as pd
import pytest
import tifffile
from roifile import roiread

from conftest import run_script
from nuclei.data.dsb import list_image_ids
from nuclei.data.synthetic import draw_labels, render


def checksums(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}


@pytest.fixture(scope="module")
def lab_folder(tmp_path_factory):
    """Two generated fluorescence images as a lab stores them: 8-bit PNG with spaces and brackets in the
    name, the same image as a 16-bit TIFF, the other as channel 2 of a 2-channel hyperstack; plus a broken
    TIFF and a note."""
    folder = tmp_path_factory.mktemp("lab") / "plate 1"
    folder.mkdir()
    rng = np.random.default_rng(5)
    first, second = (render(rng, draw_labels(rng, (256, 320)), "fluorescence")[:, :, 0] for _ in range(2))
    cv2.imwrite(str(folder / "Well A1 (1).png"), first)
    tifffile.imwrite(folder / "Well A1 16-bit.tif", first.astype(np.uint16) * 257 + 1000, compression="zlib")
    other = np.random.default_rng(0).integers(0, 300, second.shape).astype(np.uint16)
    stack = np.stack([other, second.astype(np.uint16) * 16])
    tifffile.imwrite(folder / "two channels.tif", stack, imagej=True, metadata={"axes": "CYX"})
    (folder / "broken.tif").write_bytes(b"II*\x00 not a tiff")
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.mark.slow
def test_a_folder_of_own_images_gives_labels_outlines_rois_and_tables(lab_folder, tmp_path):
    before = checksums(lab_folder)
    result = run_script("generate_predictions.py", "256", "--images", lab_folder, "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "out"
    assert checksums(lab_folder) == before, "nothing written into the user's folder"
    assert "warning: skipping" in result.stdout and "broken.tif: not a readable TIFF" in result.stdout
    assert "two channels.tif: 2 channels; tell which one holds the nuclei with --channel" in result.stdout
    assert result.stdout.strip().splitlines()[-3].startswith("skipped 2:"), "the bad files listed at the end"
    images = pd.read_csv(out / "images.csv")
    assert list(images["image"]) == ["Well A1 (1)", "Well A1 16-bit"]
    nuclei = pd.read_csv(out / "nuclei.csv")
    for row in images.itertuples():
        labels = tifffile.imread(out / f"{row.image}_labels.tif")
        assert labels.shape == (row.height, row.width) and labels.dtype == np.uint16
        assert row.nuclei == labels.max() == len(roiread(out / f"{row.image}_rois.zip")) > 3
        assert (nuclei["image"] == row.image).sum() == row.nuclei
        assert cv2.imread(str(out / f"{row.image}_outlines.png")).shape[:2] == labels.shape
    eight, sixteen = (tifffile.imread(out / f"Well A1 {name}_labels.tif") > 0 for name in ("(1)", "16-bit"))
    assert 2 * (eight & sixteen).sum() / (eight.sum() + sixteen.sum()) > 0.97, "16-bit keeps what 8-bit finds"
    bright = nuclei[nuclei["image"] == "Well A1 16-bit"]["intensity_max"]
    assert bright.max() > 255 * 100, "intensities in the raw 16-bit values"


@pytest.mark.slow
def test_the_nuclear_channel_is_chosen_and_probabilities_written_on_request(lab_folder, tmp_path):
    arguments = ["--images", lab_folder / "two channels.tif", "--out", "out", "--channel", "2"]
    result = run_script("generate_predictions.py", "256", *arguments, "--save-probabilities", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    maps = tifffile.imread(tmp_path / "out" / "two channels_probabilities.tif")
    labels = tifffile.imread(tmp_path / "out" / "two channels_labels.tif")
    assert maps.shape == (2, *labels.shape) and maps.dtype == np.float32 and 0 <= maps.min() <= maps.max() <= 1
    assert labels.max() > 3 and "1 image(s)" in result.stdout


@pytest.mark.slow
def test_nothing_readable_is_an_error_and_leaves_no_tables(lab_folder, tmp_path):
    arguments = ["--images", lab_folder / "broken.tif", "--out", "out"]
    result = run_script("generate_predictions.py", "256", *arguments, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: none of the 1 image file(s) could be read"
    assert not (tmp_path / "out" / "nuclei.csv").exists() and not (tmp_path / "out" / "images.csv").exists()


@pytest.mark.parametrize(
    "arguments, status, message",
    [
        (["--images", "nowhere.tif"], 1, "error: no images: nowhere.tif: no such file or folder"),
        (["--images", "{lab}", "--out", "{lab}"], 1, "is the input folder"),
        (["--images", "{lab}/Well A1 (1).png", "--out", "{lab}"], 1, "holds input images (Well A1 (1).png)"),
        (["--images", "{lab}", "--channel", "0"], 2, "--channel must be positive, got '0'"),
        (["--images", "{lab}", "--diameter", "-3"], 2, "--diameter must be auto, off or a positive number"),
        (["--images", "{lab}", "--test", "{lab}"], 2, "--images takes DSB folders too"),
    ],
)
def test_bad_arguments_are_one_line_before_tensorflow_starts(lab_folder, tmp_path, arguments, status, message):
    arguments = [str(argument).replace("{lab}", str(lab_folder)) for argument in arguments]
    result = run_script("generate_predictions.py", "256", *arguments, cwd=tmp_path, timeout=60)
    assert result.returncode == status and message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3 and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_dsb_folder_named_by_images_is_predicted_as_before(sample_dir, tmp_path):
    import shutil

    shutil.copytree(sample_dir / "stage1_test", tmp_path / "tests")
    result = run_script("generate_predictions.py", "256", "--images", "tests", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "submission_tests.csv").is_file()
    for image_id in list_image_ids(tmp_path / "tests"):
        assert (tmp_path / "tests" / image_id / "predict" / f"{image_id}_labels.png").is_file()


@pytest.mark.slow
def test_the_viewer_shows_own_images_in_the_order_given(lab_folder, tmp_path):
    arguments = ["--images", lab_folder / "Well A1 16-bit.tif", lab_folder / "Well A1 (1).png"]
    result = run_script("show_results.py", "256", *arguments, "--order", "given", "--no-windows", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    captions = [line for line in result.stdout.splitlines() if "nuclei" in line and line.startswith("Well")]
    assert [caption.split("  ")[0] for caption in captions] == ["Well A1 16-bit", "Well A1 (1)"]
    assert sorted(path.name for path in (tmp_path / "results").iterdir()) == ["Well A1 (1).png", "Well A1 16-bit.png"]


def test_the_viewer_never_writes_its_figures_among_the_images(lab_folder, tmp_path):
    before = checksums(lab_folder)
    result = run_script(
        "show_results.py", "256", "--images", lab_folder, "--save", lab_folder, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 1 and "is the input folder" in result.stderr and "Traceback" not in result.stderr
    assert checksums(lab_folder) == before
