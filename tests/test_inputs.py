"""Which images a user's names reach (nuclei.data.inputs): files, folders, globs and DSB folders, each once,
with odd file names, and one line for each name that reaches nothing."""

from pathlib import Path

import pytest

from nuclei.data.inputs import find_inputs, output_names, require_inputs
from nuclei.errors import UserError


@pytest.fixture
def lab(tmp_path):
    """plate/ with two images (one named as microscopes name them), a note and a hidden file; scans/ with a
    TIFF in a sub-folder; a DSB folder."""
    for name in ("plate/Well A1 (1).tif", "plate/b.PNG", "plate/notes.txt", "plate/.hidden.png", "scans/x/deep.tif"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "dsb" / "abc" / "images").mkdir(parents=True)
    (tmp_path / "dsb" / "abc" / "images" / "abc.png").write_bytes(b"x")
    return tmp_path


def test_folders_files_and_globs_give_each_image_once_in_order(lab, monkeypatch):
    monkeypatch.chdir(lab)
    found = find_inputs(["plate", "plate/b.PNG", "scans/**/*.tif", "dsb"])
    assert found.images == [Path("plate/Well A1 (1).tif"), Path("plate/b.PNG"), Path("scans/x/deep.tif")]
    assert found.dsb_folders == [Path("dsb")] and found.problems == []


def test_names_that_reach_nothing_are_one_line_each(lab, monkeypatch):
    monkeypatch.chdir(lab)
    found = find_inputs(["plate/notes.txt", "nowhere.tif", "scans/*.jpg", "scans"])
    assert found.images == []
    assert found.problems == [
        "plate/notes.txt: not an image file the suite reads (.png, .tif, .tiff, .jpg, .jpeg, .bmp)",
        "nowhere.tif: no such file or folder",
        "scans/*.jpg: matches no image file",
        "scans: no images (.png, .tif, .tiff, .jpg, .jpeg, .bmp) in this folder",
    ]
    with pytest.raises(UserError, match="no images: nowhere.tif: no such file or folder"):
        require_inputs(["nowhere.tif"])


def test_the_output_folder_is_never_read_as_input(lab, monkeypatch):
    monkeypatch.chdir(lab)
    (lab / "plate" / "predictions").mkdir()
    (lab / "plate" / "predictions" / "b_outlines.png").write_bytes(b"x")
    found = find_inputs(["plate/**/*"], exclude="plate/predictions")
    assert found.images == [Path("plate/Well A1 (1).tif"), Path("plate/b.PNG")]


def test_images_sharing_a_name_get_distinct_output_names(tmp_path):
    paths = [tmp_path / "day1" / "a.tif", tmp_path / "day2" / "a.png", tmp_path / "day3" / "A.tif", tmp_path / "b.tif"]
    assert list(output_names(paths).values()) == ["a", "day2_a", "day3_A", "b"]
    twice = [tmp_path / "x" / "a.tif", tmp_path / "y" / "x" / "a.png", tmp_path / "z" / "x" / "a.jpg"]
    assert list(output_names(twice).values()) == ["a", "x_a", "x_a-2"]


def test_earlier_outputs_are_skipped_but_an_output_folder_holding_images_is_refused(lab, monkeypatch):
    from nuclei.data.inputs import check_output_folder

    monkeypatch.chdir(lab)
    (lab / "plate" / "b_outlines.png").write_bytes(b"x")
    found = find_inputs(["plate/*"], exclude="plate")
    assert found.images == [Path("plate/Well A1 (1).tif"), Path("plate/b.PNG")], "no earlier outline read back"
    with pytest.raises(UserError, match="plate holds input images \\(Well A1 \\(1\\).tif\\)"):
        check_output_folder(Path("plate"), found.images)
    with pytest.raises(UserError, match="plate is the input folder plate"):
        check_output_folder(Path("plate"), [], ["plate"])
