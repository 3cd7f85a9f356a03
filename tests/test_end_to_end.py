"""The README's main job on the generated sample: train, reload, predict, submit, look."""

import csv
import hashlib
import json
import shutil
import warnings

import cv2
import numpy as np
import pytest

from conftest import run_script
from nuclei.data.targets import BOUNDARY_WIDTH
from nuclei.evaluation.rle import rles_to_labels
from nuclei.training.arguments import CONTACT_WEIGHT

pytestmark = pytest.mark.slow


def tree_digest(folder, parts=("images", "masks")):
    digest = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.parent.name in parts:
            digest[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


@pytest.fixture(scope="module")
def workdir(sample_dir, tmp_path_factory):
    """A copy of the sample with a model trained for one short epoch by trainer.py."""
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(sample_dir, work, dirs_exist_ok=True)
    result = run_script("trainer.py", "32", "1", "4", "1e-3", cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work


def test_trainer_writes_a_complete_self_describing_model_folder(workdir):
    model_dir = workdir / "my_model"
    for name in ("model.keras", "config.json", "history.csv", "training_curves.png", "postprocessing.json"):
        assert (model_dir / name).is_file(), name
    assert not (workdir / "my_model.partial").exists()
    config = json.loads((model_dir / "config.json").read_text())
    assert config["img_size"] == 32 and config["learning_rate"] == 1e-3 and config["seed"] == 42
    assert config["contact_weight"] == CONTACT_WEIGHT > 0, "the default run weights where nuclei part"
    assert config["boundary_width"] == BOUNDARY_WIDTH
    assert set(config["train_ids"]).isdisjoint(config["val_ids"])
    assert len(config["train_ids"]) + len(config["val_ids"]) == 9
    assert {"tensorflow", "keras", "numpy", "python"} <= set(config["versions"])
    low, high = config["nucleus_diameter_range"]
    assert 0 < low <= config["nucleus_diameter"] <= high, "the sizes prediction resizes other images' nuclei to"
    assert len(config["source"]["commit"]) == 40 and isinstance(config["source"]["modified"], bool)
    with open(model_dir / "history.csv") as stream:
        history = list(csv.DictReader(stream))
    assert len(history) == 1 and "val_loss" in history[0] and 0.0 <= float(history[0]["val_score"]) <= 1.0
    assert config["best_epoch"] == config["trained_epochs"] == 1
    report = json.loads((model_dir / "validation_report.json").read_text())
    assert {"fluorescence", "brightfield", "histology"} <= set(report["summary"]["dice"])
    tuned = json.loads((model_dir / "postprocessing.json").read_text())
    assert tuned["tta"] == (report["score_with_tta"] > report["score_without_tta"])


def test_model_folder_reloads(workdir):
    from nuclei.model.folder import load_model

    model = load_model(workdir / "my_model")
    assert tuple(model(np.zeros((1, 48, 64, 3), np.float32)).shape) == (1, 48, 64, 2)


def test_predictions_submission_and_report(workdir):
    before = tree_digest(workdir / "stage1_train") | tree_digest(workdir / "stage1_test")
    result = run_script("generate_predictions.py", "32", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MIN DICE" in result.stdout and "competition score" in result.stdout
    assert "competition score, validation images" in result.stdout
    assert "competition score, training images (flattering)" in result.stdout
    with open(workdir / "predictions_report.csv") as stream:
        report = list(csv.DictReader(stream))
    assert len(report) == 9
    assert set(report[0]) == {"ImageId", "image_type", "dice", "score", "predicted_nuclei", "true_nuclei"}
    for row in report:
        predict = workdir / "stage1_train" / row["ImageId"] / "predict"
        assert (predict / f"{row['ImageId']}.png").is_file()
        assert float((predict / "dice_score.txt").read_text()) == pytest.approx(float(row["dice"]), abs=1e-5)

    with open(workdir / "submission_stage1_test.csv") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["ImageId", "EncodedPixels"]
    test_ids = sorted(p.name for p in (workdir / "stage1_test").iterdir())
    assert sorted({row[0] for row in rows[1:]}) == test_ids
    for image_id in test_ids:
        labels = cv2.imread(
            str(workdir / "stage1_test" / image_id / "predict" / f"{image_id}_labels.png"),
            cv2.IMREAD_UNCHANGED,
        )
        runs = [row[1] for row in rows[1:] if row[0] == image_id]
        decoded = rles_to_labels(runs, labels.shape)
        assert np.array_equal(decoded, labels), image_id
        mask = cv2.imread(str(workdir / "stage1_test" / image_id / "predict" / f"{image_id}.png"), 0)
        assert np.array_equal(mask > 0, labels > 0)

    assert before == tree_digest(workdir / "stage1_train") | tree_digest(workdir / "stage1_test")
    first = (workdir / "submission_stage1_test.csv").read_bytes()
    again = run_script("generate_predictions.py", "32", "--no-train", cwd=workdir)
    assert again.returncode == 0
    assert (workdir / "submission_stage1_test.csv").read_bytes() == first


def test_score_model_scores_the_models_validation_images_per_group(workdir):
    config = json.loads((workdir / "my_model" / "config.json").read_text())
    result = run_script("benchmarks/score_model.py", "my_model", "stage1_train", "--diameter", "off", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"| stage1_train | all | {len(config['val_ids'])} |" in result.stdout
    both = run_script("benchmarks/score_model.py", "my_model", "stage1_train", "--all-images", cwd=workdir)
    assert both.returncode == 0 and "| stage1_train | all | 9 |" in both.stdout
    wrong = run_script("benchmarks/score_model.py", "my_model", "stage1_train", "--diameter", "0", cwd=workdir)
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines()[-1].startswith("score_model.py: error:")


def test_predictions_say_when_the_image_size_disagrees(workdir):
    result = run_script("generate_predictions.py", "64", "--no-train", cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "IMG_SIZE 64 differs from the size 32" in result.stdout


def test_predictions_follow_the_folders_flip_averaging_unless_told(workdir):
    model_dir = workdir / "tta_model"
    shutil.copytree(workdir / "my_model", model_dir)
    tuned = json.loads((model_dir / "postprocessing.json").read_text())
    (model_dir / "postprocessing.json").write_text(json.dumps({**tuned, "tta": True}))
    args = ("generate_predictions.py", "32", "--no-train", "--model", "tta_model")
    auto = run_script(*args, cwd=workdir)
    assert auto.returncode == 0, auto.stderr[-2000:]
    assert "averaging over flips" in auto.stdout
    off = run_script(*args, "--tta", "off", cwd=workdir)
    assert off.returncode == 0 and "averaging over flips" not in off.stdout


def test_baseline_table_scores_the_same_validation_images(workdir):
    result = run_script("benchmarks/baseline.py", "--model", "my_model", "--markdown", cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| method | images | all |")
    otsu, model = lines[2].split(" | "), lines[3].split(" | ")
    assert otsu[0] == "| Otsu + connected components" and model[0] == "| my_model"
    report = json.loads((workdir / "my_model" / "validation_report.json").read_text())
    assert float(model[2]) == pytest.approx(report["summary"]["score"]["all"][0], abs=1e-3)
    assert otsu[1] == model[1] == str(report["summary"]["score"]["all"][1])
    assert 0.0 <= float(otsu[2]) <= 1.0


def test_baseline_table_trains_the_original_recipe_on_the_same_split(workdir):
    args = ("--model", "my_model", "--markdown", "--original-recipe", "--original-epochs", "1", "--original-size", "32")
    result = run_script("benchmarks/baseline.py", *args, cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "oneDNN custom operations" not in result.stderr, "TensorFlow started without being quietened"
    config = json.loads((workdir / "my_model" / "config.json").read_text())
    assert f"original recipe: {len(config['train_ids'])} images squashed to 32" in result.stdout
    rows = [line.split(" | ") for line in result.stdout.splitlines() if line.startswith("| ")][2:]
    assert [row[0] for row in rows] == ["| Otsu + connected components", "| original recipe, 1 epochs", "| my_model"]
    assert rows[1][1] == str(len(config["val_ids"])) and 0.0 <= float(rows[1][2]) <= 1.0


def test_baseline_table_names_a_config_without_the_split_in_one_line(workdir):
    folder = workdir / "no_split_model"
    shutil.copytree(workdir / "my_model", folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "train_ids": []}))
    result = run_script("benchmarks/baseline.py", "--model", folder.name, "--original-recipe", cwd=workdir)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: the model folder's config.json lists no train_ids"


def test_viewer_writes_figures_without_a_display(workdir):
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    result = run_script("show_results.py", "32", "--count", "2", "--seed", "0", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no display" in result.stdout
    figures = sorted((workdir / "results").glob("*.png"))
    assert len(figures) == 2
    assert cv2.imread(str(figures[0])).shape[1] >= 1000


def test_viewer_shows_unlabelled_images_each_once_and_ends(workdir, tmp_path):
    """Only test images in the folder: the viewer predicts them without scores and stops when they run out."""
    shutil.copytree(workdir / "stage1_test", tmp_path / "stage1_test")
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    model = workdir / "my_model"
    result = run_script("show_results.py", "32", "--model", model, "--count", "50", cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = sorted((tmp_path / "results").glob("*.png"))
    assert len(figures) == len(list((tmp_path / "stage1_test").iterdir())), "each image once, then the end"
    assert "Dice" not in result.stdout and "nuclei " in result.stdout


def test_balanced_trainer_draws_rare_types_more_often(workdir):
    result = run_script(
        "trainer_balanced_data.py",
        "32",
        "1",
        "4",
        "1e-3",
        "--multipliers",
        "fluorescence=1,histology=2,brightfield=3",
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((workdir / "my_balanced_model" / "config.json").read_text())
    assert config["sampling"] == {
        "method": "balanced",
        "multipliers": {"fluorescence": 1, "histology": 2, "brightfield": 3},
    }
    assert "samples per epoch" in result.stdout
    assert config["samples_per_epoch"] > len(config["train_ids"])


def test_training_skips_bad_images_and_lists_them_at_the_end(sample_dir, tmp_path):
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    ids = sorted(p.name for p in (tmp_path / "stage1_train").iterdir())
    corrupt, no_masks = ids[0], ids[1]
    (tmp_path / "stage1_train" / corrupt / "images" / f"{corrupt}.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    shutil.rmtree(tmp_path / "stage1_train" / no_masks / "masks")
    result = run_script("trainer.py", "32", "1", "4", "1e-3", "--no-cache", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"warning: skipping {corrupt}" in result.stderr and f"warning: skipping {no_masks}" in result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("skipped 2 image(s)")]
    assert summary and corrupt in summary[0] and no_masks in summary[0]
    config = json.loads((tmp_path / "my_model" / "config.json").read_text())
    assert sorted(item["ImageId"] for item in config["skipped"]) == sorted([corrupt, no_masks])


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_mixed_precision_and_xla_train_and_reload_in_float32(precision, sample_dir, tmp_path):
    """16-bit training (float16 with loss scaling: GPUs; bfloat16: CPUs) and XLA-compiled steps, forced on here.

    The folder keeps a float32 model, which predicts at full speed on any device.
    """
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    options = ("--mixed-precision", precision, "--xla", "on", "--steps-per-epoch", "2")
    result = run_script("trainer.py", "32", "1", "4", "1e-3", *options, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"compute precision: mixed_{precision}" in result.stdout
    config = json.loads((tmp_path / "my_model" / "config.json").read_text())
    assert config["training_precision"] == f"mixed_{precision}" and config["xla"] is True
    from nuclei.model.folder import load_model

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = load_model(tmp_path / "my_model")
    assert {layer.compute_dtype for layer in model.layers if layer.weights} == {"float32"}
    assert getattr(model, "optimizer", None) is None, "the folder keeps the network, not Adam's moments"
    size = (tmp_path / "my_model" / "model.keras").stat().st_size
    assert size < 1.3 * sum(weight.numpy().nbytes for weight in model.weights), "the weights, not three times them"
    output = model(np.zeros((1, 32, 32, 3), np.float32))
    assert output.dtype == "float32" and np.isfinite(np.asarray(output)).all()


@pytest.mark.parametrize("schedule", ["cosine", "anneal"])
def test_decaying_schedules_lower_the_learning_rate_by_the_end(schedule, sample_dir, tmp_path):
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    args = ("trainer.py", "32", "3", "4", "1e-3", "--schedule", schedule, "--steps-per-epoch", "2", "--no-cache")
    result = run_script(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "my_model" / "history.csv") as stream:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(stream)]
    if schedule == "cosine":
        assert len(rates) == 3 and rates[0] > rates[1] > rates[2] >= 2e-5
    else:
        assert rates == pytest.approx([1e-3, 1e-3, 2e-5])
    assert json.loads((tmp_path / "my_model" / "config.json").read_text())["schedule"] == schedule
