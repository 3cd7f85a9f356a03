"""The model that comes with the suite (models/dsb2018): complete, small, self-describing, used by default."""

import json
import shutil

import pytest

from conftest import PROJECT, run_script
from nuclei.model.folder import SHIPPED_MODEL_DIR

FILES = ("model.keras", "config.json", "postprocessing.json", "history.csv", "validation_report.json")


def test_the_shipped_model_folder_is_complete_small_and_says_how_it_was_made():
    assert SHIPPED_MODEL_DIR == PROJECT / "models" / "dsb2018"
    for name in FILES:
        assert (SHIPPED_MODEL_DIR / name).is_file(), name
    size = sum(path.stat().st_size for path in SHIPPED_MODEL_DIR.iterdir())
    assert size < 25e6, "the whole folder under 25 MB"
    config = json.loads((SHIPPED_MODEL_DIR / "config.json").read_text())
    assert config["script"] == "trainer_balanced_data.py" and config["arguments"]["data"] == "stage1_train"
    assert len(config["source"]["commit"]) == 40 and config["source"]["modified"] is False
    assert config["run_seconds"] > 0 and config["finished"]
    assert config["nucleus_diameter_range"][0] < config["nucleus_diameter"] < config["nucleus_diameter_range"][1]
    assert set(config["train_ids"]).isdisjoint(config["val_ids"]) and len(config["val_ids"]) == 60
    absolute = [value for value in config["arguments"].values() if isinstance(value, str) and value.startswith("/")]
    assert not absolute, "no folder of the machine that trained it"


@pytest.mark.slow
def test_a_fresh_folder_with_only_test_images_gets_a_submission_from_the_shipped_model(sample_dir, tmp_path):
    shutil.copytree(sample_dir / "stage1_test", tmp_path / "stage1_test")
    result = run_script("generate_predictions.py", "256", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"using model folder {SHIPPED_MODEL_DIR}" in result.stdout
    rows = (tmp_path / "submission_stage1_test.csv").read_text().splitlines()
    assert rows[0] == "ImageId,EncodedPixels" and len(rows) > len(list((tmp_path / "stage1_test").iterdir()))
