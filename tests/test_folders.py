"""Which folders generate_predictions.py reads (nuclei.prediction.folders.folders_to_predict), checked
before TensorFlow starts."""

from pathlib import Path

import numpy as np
import pytest

from nuclei.errors import UserError
from nuclei.prediction.folders import folders_to_predict


def test_the_default_folders_are_those_that_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="nothing to predict: stage1_train does not exist"):
        folders_to_predict(None, None)
    (tmp_path / "stage2_test_final").mkdir()
    assert folders_to_predict(None, None) == (None, [Path("stage2_test_final")])
    (tmp_path / "stage1_train").mkdir()
    labelled, tests = folders_to_predict(None, None)
    assert (str(labelled), [str(folder) for folder in tests]) == ("stage1_train", ["stage2_test_final"])
    assert folders_to_predict(None, None, no_train=True).labelled is None


def test_a_folder_named_but_missing_is_one_line(tmp_path):
    with pytest.raises(UserError, match="labelled folder .*nowhere does not exist"):
        folders_to_predict(str(tmp_path / "nowhere"), None)
    with pytest.raises(UserError, match="test folder .*gone does not exist"):
        folders_to_predict(None, [str(tmp_path), str(tmp_path / "gone")])
    assert folders_to_predict(None, [str(tmp_path)]).tests == [tmp_path]


def test_the_default_model_is_the_current_folders_own_else_the_shipped_one(tmp_path, monkeypatch):
    from nuclei.prediction import opening

    shipped = tmp_path / "suite" / "models" / "dsb2018"
    monkeypatch.setattr(opening, "SHIPPED_MODEL_DIR", shipped)
    monkeypatch.chdir(tmp_path)
    said = []
    assert opening.default_model_dir(said.append) == Path("my_model"), "nothing anywhere: the one to train"
    shipped.mkdir(parents=True)
    assert opening.default_model_dir(said.append) == shipped
    assert said[-1] == f"using model folder {shipped} (choose another with --model)"
    (tmp_path / "my_model").mkdir()
    assert opening.default_model_dir(said.append) == Path("my_model")
    (tmp_path / "my_balanced_model").mkdir()
    assert opening.default_model_dir(said.append) == Path("my_balanced_model")


def test_reports_split_validation_training_and_unseen_images():
    from nuclei.prediction.folders import rows_by_role

    rows = [{"ImageId": name} for name in ("a", "b", "c", "d")]
    roles = rows_by_role(rows, {"train_ids": ["a", "b"], "val_ids": ["c"]})
    assert {role: [row["ImageId"] for row in members] for role, members in roles.items()} == {
        "training images (flattering)": ["a", "b"],
        "validation images": ["c"],
        "images the model never saw": ["d"],
    }
    assert rows_by_role(rows, {}) == {"all images": rows}


def test_predicted_labels_above_65535_nuclei_do_not_wrap(tmp_path):
    import tifffile

    from nuclei.prediction.folders import write_prediction

    (tmp_path / "many").mkdir()
    labels = np.arange(1, 300 * 300 + 1, dtype=np.int64).reshape(300, 300)
    write_prediction(tmp_path, "many", labels)
    predict = tmp_path / "many" / "predict"
    assert sorted(path.name for path in predict.iterdir()) == ["many.png", "many_labels.tif"]
    assert tifffile.imread(predict / "many_labels.tif").max() == 300 * 300
