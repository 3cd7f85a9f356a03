"""The working folder of a run (nuclei.training.checkpoint): what --resume reads, from this version and from
earlier ones, and what a kill in the middle of a save leaves."""

import json

import pytest

from conftest import run_config
from nuclei.data.augmentation import ORIGINAL_MAX_BLUR_SIGMA
from nuclei.errors import UserError
from nuclei.training import config
from nuclei.training.checkpoint import (
    CHECKPOINT,
    LEGACY_STATE,
    RUN_STATE,
    finished_epochs,
    load_checkpoint,
    save_checkpoint,
)


def test_nothing_to_resume_is_one_line(tmp_path):
    with pytest.raises(UserError, match="nothing to resume"):
        load_checkpoint(tmp_path)
    (tmp_path / CHECKPOINT).write_bytes(b"a model, but no state")
    with pytest.raises(UserError, match="nothing to resume"):
        load_checkpoint(tmp_path)


def write_legacy_folder(folder, state):
    (folder / CHECKPOINT).write_bytes(b"a model")
    (folder / LEGACY_STATE).write_text(json.dumps(state))


def test_a_working_folder_of_an_earlier_version_resumes_from_its_checkpoint_json(tmp_path):
    """The state the trainers wrote after every epoch before config.json: best epoch from 0, its own key names."""
    write_legacy_folder(
        tmp_path,
        {
            "seed": 5,
            "split_seed": 42,
            "train_ids": ["a", "b"],
            "val_ids": ["c"],
            "finished_epochs": 3,
            "planned_epochs": 10,
            "schedule": {"best": 0.3, "wait": 1},
            "schedule_name": "anneal",
            "max_blur": 1.5,
            "contact_weight": 2.0,
            "boundary_width": 1,
            "best": {"epoch": 1, "score": 0.4},
        },
    )
    saved = load_checkpoint(tmp_path)
    assert (saved.trained_epochs, saved.planned_epochs, saved.best_epoch, saved.best_score) == (3, 10, 2, 0.4)
    assert (saved.seed, saved.split_seed, saved.train_ids, saved.val_ids) == (5, 42, ["a", "b"], ["c"])
    assert (saved.schedule, saved.schedule_state) == ("anneal", {"best": 0.3, "wait": 1})
    assert (saved.max_blur_sigma, saved.contact_weight, saved.boundary_width) == (1.5, 2.0, 1)
    resumed = run_config(epochs=8, planned_epochs=8).resumed_from(saved)
    assert (resumed.epochs, resumed.planned_epochs, resumed.trained_epochs, resumed.best_epoch) == (8, 8, 3, 2)
    assert (resumed.schedule, resumed.max_blur_sigma, resumed.training_precision) == ("anneal", 1.5, None)


def test_the_first_versions_checkpoint_json_resumes_as_those_runs_trained(tmp_path):
    """The first state held the split, the seed and the epochs alone: no best epoch, schedule or recipe."""
    write_legacy_folder(tmp_path, {"seed": 42, "train_ids": ["a", "b"], "val_ids": ["c"], "finished_epochs": 2})
    saved = load_checkpoint(tmp_path)
    assert (saved.trained_epochs, saved.best_epoch, saved.split_seed, saved.schedule_state) == (2, 0, 42, {})
    assert (saved.schedule, saved.max_blur_sigma, saved.contact_weight, saved.boundary_width) == (
        "plateau",
        ORIGINAL_MAX_BLUR_SIGMA,
        0.0,
        2,
    )
    assert run_config(epochs=6, planned_epochs=6).resumed_from(saved).planned_epochs == 6


def test_this_versions_config_json_wins_over_an_earlier_checkpoint_json(tmp_path):
    write_legacy_folder(tmp_path, {"seed": 42, "train_ids": ["a"], "val_ids": ["c"], "finished_epochs": 2})
    run_config(trained_epochs=4, best_epoch=3, train_ids=["a"], val_ids=["c"]).save(tmp_path / RUN_STATE)
    assert (load_checkpoint(tmp_path).trained_epochs, load_checkpoint(tmp_path).best_epoch) == (4, 3)


def test_a_kill_between_best_weights_and_state_leaves_a_resumable_folder(tmp_path, monkeypatch):
    """save_checkpoint writes the new best weights before the state that names them; a kill in
    between leaves both best files, the state still naming the older one, and the next save
    removes the leftover. The kill comes inside the state's write: RunConfig.save's call of
    atomic_write_json, patched in nuclei.training.config, where it is looked up."""
    from nuclei import runtime

    runtime.import_tensorflow()
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    history = [{"epoch": 0, "loss": 1.0}]
    save_checkpoint(tmp_path, model, history, run_config(trained_epochs=1, best_epoch=1))

    def killed(path, data):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(config, "atomic_write_json", killed)
        with pytest.raises(KeyboardInterrupt):
            save_checkpoint(tmp_path, model, history * 2, run_config(trained_epochs=2, best_epoch=2))
    saved = load_checkpoint(tmp_path)
    assert (saved.trained_epochs, saved.best_epoch) == (1, 1)
    assert sorted(path.name for path in tmp_path.glob("best-epoch*")) == [
        "best-epoch1.weights.h5",
        "best-epoch2.weights.h5",
    ]

    save_checkpoint(tmp_path, model, history * 3, run_config(trained_epochs=3, best_epoch=1))
    assert [path.name for path in tmp_path.glob("best-epoch*")] == ["best-epoch1.weights.h5"]


def test_the_epochs_a_working_folder_keeps_are_counted_in_either_format(tmp_path):
    """What an interruption reports: 0 before the first epoch is saved, else the state's count, old or new."""
    assert finished_epochs(tmp_path) == 0
    write_legacy_folder(tmp_path, {"seed": 42, "train_ids": ["a"], "val_ids": ["c"], "finished_epochs": 2})
    assert finished_epochs(tmp_path) == 2
    run_config(trained_epochs=4, train_ids=["a"], val_ids=["c"]).save(tmp_path / RUN_STATE)
    assert finished_epochs(tmp_path) == 4
