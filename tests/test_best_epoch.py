"""Training in process (nuclei.training.run.train): the epoch kept is the best-scoring one, --patience stops a
run that has stopped improving, and the caller's Keras precision is left as it was.

Each epoch's validation score comes from a script of scores, passed as train's score function: the
training loop is reached through its arguments, nothing in the package is patched.
"""

import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(sample_dir, tmp_path):
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    return tmp_path


class ScriptedScores:
    """A score function for train(): each epoch's validation score is the next of scores; keeps the
    weights the model had at each scoring."""

    def __init__(self, *scores):
        self.scores, self.seen = scores, []

    def __call__(self, model, val_samples):
        assert val_samples, "an epoch is scored on the validation images"
        self.seen.append([np.array(weight) for weight in model.get_weights()])
        return self.scores[len(self.seen) - 1]


def train_in_process(workdir, epochs, *options, score=None):
    """trainer.py's run, in this process: 2 steps an epoch on the sample; the model folder's config.json."""
    from nuclei import runtime

    runtime.import_tensorflow()
    from nuclei.training import arguments
    from nuclei.training.run import train
    from nuclei.training.sampling import uniform_sampler
    from nuclei.training.validation import epoch_score

    command = ["32", str(epochs), "4", "1e-3", "--steps-per-epoch", "2", "--no-cache", "--schedule", "plateau"]
    command += ["--data", str(workdir / "stage1_train"), "--out", str(workdir / "my_model"), *options]
    args = arguments.parse(arguments.make_parser("doc", "my_model"), command)
    out = train(args, uniform_sampler, {"method": "uniform"}, script="trainer.py", score=score or epoch_score)
    assert out == workdir / "my_model"
    return json.loads((out / "config.json").read_text())


def test_the_folder_keeps_the_best_scoring_epoch_not_the_last(workdir, capsys):
    from nuclei.model.folder import load_model

    scores = ScriptedScores(0.3, 0.5, 0.4)
    config = train_in_process(workdir, 3, score=scores)
    assert config["best_epoch"] == 2 and config["trained_epochs"] == 3
    assert "keeping epoch 2, the best validation score (0.500; the last epoch: 0.400)" in capsys.readouterr().out
    kept = load_model(workdir / "my_model").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(kept, scores.seen[1]))
    assert not any(np.array_equal(a, b) for a, b in zip(kept, scores.seen[2]) if a.ndim == 4)
    assert not list((workdir / "my_model").glob("best-epoch*"))


def test_patience_stops_after_that_many_epochs_without_a_better_score(workdir, capsys):
    config = train_in_process(workdir, 5, "--patience", "2", score=ScriptedScores(0.5, 0.4, 0.3, 0.9, 0.9))
    assert config["trained_epochs"] == 3 and config["best_epoch"] == 1 and config["epochs"] == 5
    assert "stopping: no better validation score in the 2 epochs after epoch 1" in capsys.readouterr().out
    assert (workdir / "my_model" / "history.csv").read_text().count("\n") == 1 + 3


def test_only_the_epochs_from_score_from_are_scored_and_kept(workdir):
    from nuclei.training.history import read_history

    scores = ScriptedScores(0.4, 0.3)
    config = train_in_process(workdir, 4, "--score-from", "3", score=scores)
    assert len(scores.seen) == 2 and config["first_scored_epoch"] == 3
    assert config["best_epoch"] == 3 and config["trained_epochs"] == 4
    history = read_history(workdir / "my_model" / "history.csv")
    assert [np.isnan(row["val_score"]) for row in history] == [True, True, False, False]
    assert all(np.isfinite(row["val_loss"]) for row in history)


def test_patience_counts_scored_epochs_only(workdir, capsys):
    config = train_in_process(workdir, 5, "--score-from", "3", "--patience", "1", score=ScriptedScores(0.5, 0.4, 0.3))
    assert config["trained_epochs"] == 4 and config["best_epoch"] == 3
    assert "no better validation score in the 1 epochs after epoch 3" in capsys.readouterr().out


def test_training_in_16_bits_leaves_the_callers_precision_as_it_was(workdir):
    import keras

    config = train_in_process(workdir, 1, "--mixed-precision", "bfloat16", score=ScriptedScores(0.5))
    assert config["training_precision"] == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_time_limit_plans_fewer_epochs_and_keeps_to_its_plan(workdir, capsys):
    """1000 epochs cannot fit a minute: the run plans fewer and trains as many as it last planned. How the
    decay ends depends on the machine's load, so the schedule's side is tested in test_epoch_end.py."""
    config = train_in_process(workdir, 1000, "--schedule", "anneal", "--time-limit", "1")
    assert config["trained_epochs"] == config["planned_epochs"] < 1000
    assert config["arguments"]["time_limit"] == 1 and config["run_seconds"] > 0
    assert "of 1000 epochs fit" in capsys.readouterr().out
