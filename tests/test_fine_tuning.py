"""Training on a lab's own annotations and fine-tuning from a model folder, run as a user runs them: image +
label-image pairs in TIFF and PNG, bad annotations named and skipped, the parent recorded, the folder reloaded."""

import json

import cv2
import numpy as np
import pytest
import tifffile

from conftest import run_script
from nuclei.data.dsb import list_image_ids, read_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def annotations(sample_dir, tmp_path_factory):
    """The sample's 9 labelled images as images/ + masks/ pairs (16-bit TIFFs and PNGs, label TIFFs and 16-bit
    PNGs), and three bad ones: no annotation, an annotation of another size, an empty one."""
    folder = tmp_path_factory.mktemp("lab") / "annotated"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for number, image_id in enumerate(list_image_ids(sample_dir / "stage1_train")):
        sample = read_sample(sample_dir / "stage1_train", image_id)
        name = f"field {number}"
        if number % 2:
            tifffile.imwrite(folder / "images" / f"{name}.tif", sample.image.astype(np.uint16) * 200)
            tifffile.imwrite(folder / "masks" / f"{name}.tif", sample.labels, compression="zlib")
        else:
            cv2.imwrite(str(folder / "images" / f"{name}.png"), sample.image)
            cv2.imwrite(str(folder / "masks" / f"{name}.png"), sample.labels)
    blank = np.zeros((64, 64), np.uint8)
    for name in ("no annotation", "wrong size", "empty"):
        cv2.imwrite(str(folder / "images" / f"{name}.png"), blank)
    cv2.imwrite(str(folder / "masks" / "wrong size.png"), np.ones((32, 64), np.uint16))
    cv2.imwrite(str(folder / "masks" / "empty.png"), np.zeros((64, 64), np.uint16))
    return folder


def test_training_on_label_image_pairs_then_fine_tuning_records_the_parent(annotations, tmp_path):
    result = run_script("trainer.py", "32", "1", "4", "1e-3", "--data", annotations, "--out", "scratch", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{annotations}: image + label-image pairs (images/NAME, masks/NAME), 12 images" in result.stdout
    for line in ("no annotation.png: no label image", "wrong size.png: is 64x32 but its image is 64x64",
                 "empty.png: empty annotation"):  # fmt: skip
        assert sum(line in text for text in result.stderr.splitlines()) == 1, line
    assert "skipped 3 image(s) with bad data: empty, no annotation, wrong size" in result.stdout
    scratch = json.loads((tmp_path / "scratch" / "config.json").read_text())
    assert scratch["parent"] is None and len(scratch["train_ids"]) + len(scratch["val_ids"]) == 9

    arguments = ["--data", annotations, "--init", "scratch", "--out", "tuned"]
    result = run_script("trainer.py", "32", "1", "4", "1e-4", *arguments, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starting from the weights of scratch (--init)" in result.stdout
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    parent = config["parent"]
    assert parent["folder"] == str((tmp_path / "scratch").resolve()) and parent["data"] == str(annotations)
    assert parent["commit"] == scratch["source"]["commit"] and parent["finished"] == scratch["finished"]
    assert config["arguments"]["init"] == "scratch"

    from nuclei.model.folder import load_model

    model = load_model(tmp_path / "tuned")
    assert model.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0).shape == (1, 32, 32, 2)


def test_a_missing_or_foreign_parent_is_one_line_before_tensorflow_starts(annotations, tmp_path):
    result = run_script("trainer.py", "32", "1", "4", "1e-4", "--data", annotations, "--init", "nowhere", cwd=tmp_path)
    assert (
        result.returncode == 1
        and result.stderr.strip() == "error: model folder nowhere does not exist; train one with trainer.py"
    )
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "model.keras").write_bytes(b"x")
    (tmp_path / "foreign" / "config.json").write_text(json.dumps({"img_size": 32, "filters": [8, 16]}))
    result = run_script("trainer.py", "32", "1", "4", "1e-4", "--data", annotations, "--init", "foreign", cwd=tmp_path)
    assert result.returncode == 1 and "its U-Net has filters [8, 16]" in result.stderr
