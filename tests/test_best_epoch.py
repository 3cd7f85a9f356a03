"""Training in process: the epoch kept is the best-scoring one, --patience stops a run that has stopped
improving, and the caller's Keras precision is left as it was."""

import json
import shutil

import numpy as np
import pytest

import trainer
import training

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(sample_dir, tmp_path):
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    return tmp_path


def script_scores(monkeypatch, scores):
    """Make each epoch's validation score the next of scores; returns the weights seen at each epoch's end."""
    seen = []

    def scripted(model, val_samples):
        seen.append([np.array(weight) for weight in model.get_weights()])
        return scores[len(seen) - 1]

    monkeypatch.setattr(training, "epoch_validation_score", scripted)
    return seen


def train_in_process(workdir, epochs, *options):
    trainer.main(
        ["32", str(epochs), "4", "1e-3", "--steps-per-epoch", "2", "--no-cache"]
        + ["--data", str(workdir / "stage1_train"), "--out", str(workdir / "my_model"), *options]
    )
    return json.loads((workdir / "my_model" / "config.json").read_text())


def test_the_folder_keeps_the_best_scoring_epoch_not_the_last(workdir, monkeypatch, capsys):
    import model_folder

    seen = script_scores(monkeypatch, [0.3, 0.5, 0.4])
    config = train_in_process(workdir, 3)
    assert config["best_epoch"] == 2 and config["trained_epochs"] == 3
    assert "keeping epoch 2, the best validation score (0.500; the last epoch: 0.400)" in capsys.readouterr().out
    kept = model_folder.load_model(workdir / "my_model").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(kept, seen[1]))
    assert not any(np.array_equal(a, b) for a, b in zip(kept, seen[2]) if a.ndim == 4)
    assert not list((workdir / "my_model").glob("best-epoch*"))


def test_patience_stops_after_that_many_epochs_without_a_better_score(workdir, monkeypatch, capsys):
    script_scores(monkeypatch, [0.5, 0.4, 0.3, 0.9, 0.9])
    config = train_in_process(workdir, 5, "--patience", "2")
    assert config["trained_epochs"] == 3 and config["best_epoch"] == 1 and config["epochs"] == 5
    assert "stopping: no better validation score in the 2 epochs after epoch 1" in capsys.readouterr().out
    assert (workdir / "my_model" / "history.csv").read_text().count("\n") == 1 + 3


def test_only_the_epochs_from_score_from_are_scored_and_kept(workdir, monkeypatch):
    seen = script_scores(monkeypatch, [0.4, 0.3])
    config = train_in_process(workdir, 4, "--score-from", "3")
    assert len(seen) == 2 and config["first_scored_epoch"] == 3
    assert config["best_epoch"] == 3 and config["trained_epochs"] == 4
    history = training.read_history(workdir / "my_model" / "history.csv")
    assert [np.isnan(row["val_score"]) for row in history] == [True, True, False, False]
    assert all(np.isfinite(row["val_loss"]) for row in history)


def test_patience_counts_scored_epochs_only(workdir, monkeypatch, capsys):
    script_scores(monkeypatch, [0.5, 0.4, 0.3])
    config = train_in_process(workdir, 5, "--score-from", "3", "--patience", "1")
    assert config["trained_epochs"] == 4 and config["best_epoch"] == 3
    assert "no better validation score in the 1 epochs after epoch 3" in capsys.readouterr().out


def test_curves_mark_the_kept_epoch_and_survive_a_history_begun_without_scores(tmp_path):
    """A run resumed from a checkpoint of older code has no val_score in its first rows."""
    rows = [{"epoch": 0, "loss": 1.0, "val_loss": 0.9}] + [
        {"epoch": epoch, "loss": 1.0 / epoch, "val_loss": 0.9 / epoch, "val_score": score}
        for epoch, score in ((1, 0.4), (2, 0.3))
    ]
    training.write_history(tmp_path / "history.csv", rows)
    read = training.read_history(tmp_path / "history.csv")
    assert np.isnan(read[0]["val_score"]) and read[1]["val_score"] == 0.4
    training.plot_history(tmp_path / "history.csv", tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_training_in_16_bits_leaves_the_callers_precision_as_it_was(workdir, monkeypatch):
    import keras

    script_scores(monkeypatch, [0.5])
    config = train_in_process(workdir, 1, "--mixed-precision", "bfloat16")
    assert config["training_precision"] == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_time_limit_plans_fewer_epochs_and_keeps_to_its_plan(workdir, capsys):
    """1000 epochs cannot fit a minute: the run plans fewer and trains as many as it last planned. How the
    decay ends depends on the machine's load, so the schedule's side is tested in test_train_loop.py."""
    config = train_in_process(workdir, 1000, "--schedule", "anneal", "--time-limit", "1")
    assert config["trained_epochs"] == config["planned_epochs"] < 1000
    assert config["arguments"]["time_limit"] == 1 and config["run_seconds"] > 0
    assert "of 1000 epochs fit" in capsys.readouterr().out
