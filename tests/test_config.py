"""A run's configuration (nuclei.training.config.RunConfig): the schema of config.json, and what --resume keeps."""

import dataclasses
import json

import pytest

from conftest import run_config
from nuclei.errors import UserError
from nuclei.training import arguments
from nuclei.training.config import KEPT_ON_RESUME, RunConfig


def test_a_run_configuration_saves_and_loads_as_it_was(tmp_path):
    run = run_config(
        arguments={"img_size": 32, "time_limit": None, "resume": False},
        train_ids=["a", "b"],
        val_ids=["c"],
        skipped=[{"ImageId": "d", "reason": "no masks"}],
        trained_epochs=3,
        best_epoch=2,
        best_score=0.5,
        schedule_state={"best": 0.25, "wait": 1},
        validation={"score": {"all": [0.5, 1]}},
    )
    run.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == run
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["trained_epochs"], saved["best_epoch"], saved["first_scored_epoch"]) == (3, 2, 1)
    assert "finished_epochs" not in saved and "best" not in saved


def test_keys_a_run_configuration_does_not_know_are_ignored():
    """Folders of older and newer versions hold keys this one has not (or no longer) heard of."""
    data = {**run_config().to_dict(), "finished_epochs": 3, "from_a_newer_version": True}
    assert RunConfig.from_dict(data) == run_config()


@pytest.mark.parametrize("content", [None, "{", "[1, 2]", json.dumps({"script": "trainer.py"})])
def test_an_unreadable_or_incomplete_configuration_is_one_line_naming_the_file(tmp_path, content):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match="config.json is not a readable run configuration"):
        RunConfig.load(path)


def test_the_command_line_makes_a_new_runs_configuration():
    parser = arguments.make_parser("doc", "my_model")
    command = ["64", "30", "8", "2e-3", "--seed", "7", "--max-blur", "1.5", "--contact-weight", "0"]
    args = arguments.parse(parser, command)
    run = RunConfig.from_arguments(args, "trainer.py", {"method": "uniform"})
    assert (run.script, run.sampling) == ("trainer.py", {"method": "uniform"})
    tables = {"clusters": "cluster_df.csv", "cluster_model": "filename.joblib"}
    assert run.arguments == {**vars(args), "split_seed": 7, **tables}, "the command line, the split's seed resolved"
    assert (run.img_size, run.epochs, run.planned_epochs, run.batch_size, run.learning_rate) == (64, 30, 30, 8, 2e-3)
    assert (run.seed, run.split_seed, run.max_blur_sigma, run.contact_weight) == (7, 7, 1.5, 0.0)
    assert (run.schedule, run.boundary_width) == ("anneal", 2)
    assert (run.trained_epochs, run.best_epoch, run.best_score, run.train_ids) == (0, 0, -1.0, [])
    json.dumps(run.to_dict())
    split = RunConfig.from_arguments(arguments.parse(parser, [*command, "--split-seed", "42"]), "trainer.py", {})
    assert (split.seed, split.split_seed) == (7, 42)


def interrupted_run():
    return run_config(
        epochs=50,
        planned_epochs=40,
        batch_size=16,
        seed=5,
        split_seed=42,
        train_ids=["a", "b"],
        val_ids=["c"],
        schedule="anneal",
        max_blur_sigma=1.5,
        zoom_range=[0.5, 2.0],
        intensity_augmentation=True,
        contact_weight=2.0,
        boundary_width=1,
        training_precision="mixed_bfloat16",
        trained_epochs=12,
        first_scored_epoch=31,
        best_epoch=10,
        best_score=0.5,
        schedule_state={"best": 0.2, "wait": 0},
    )


def test_a_resumed_run_keeps_the_interrupted_runs_training_and_progress():
    saved = interrupted_run()
    command_line = run_config(epochs=30, planned_epochs=30, batch_size=8, arguments={"resume": True})
    resumed = command_line.resumed_from(saved)
    for name in set(KEPT_ON_RESUME) - {"planned_epochs"}:
        assert getattr(resumed, name) == getattr(saved, name), name
    assert (resumed.epochs, resumed.batch_size) == (30, 8)
    kept_options = {"schedule": saved.schedule, "max_blur": saved.max_blur_sigma, "split_seed": saved.split_seed}
    assert resumed.arguments == {
        "resume": True,
        **kept_options,
        "zoom": [0.5, 2.0],
        "intensity_augmentation": "on",
        "contact_weight": saved.contact_weight,
        "boundary_width": saved.boundary_width,
    }, "the options the run keeps are recorded as it ran them"
    assert resumed.planned_epochs == 30, "EPOCHS from the command line, where it ends the run sooner"
    assert resumed.first_scored_epoch == 1, "the run settles it anew from --score-from and its plan"
    assert saved == interrupted_run(), "the saved configuration is left as it was"


def test_a_resumed_run_keeps_to_the_shorter_of_its_plan_and_epochs():
    saved = interrupted_run()
    longer = run_config(epochs=80, planned_epochs=80).resumed_from(saved)
    assert (longer.epochs, longer.planned_epochs) == (80, 40), "the interrupted run's plan (its time limit's) holds"
    unplanned = run_config(epochs=20, planned_epochs=20).resumed_from(dataclasses.replace(saved, planned_epochs=0))
    assert unplanned.planned_epochs == 20, "a saved run without a plan takes EPOCHS"


def test_the_suites_own_tables_are_recorded_relative_to_it():
    """config.json travels with a model folder: it names no folder of the machine that trained it."""
    args = arguments.parse(arguments.make_parser("doc", "my_model"), ["64", "2", "8", "1e-3"])
    run = RunConfig.from_arguments(args, "trainer.py", {})
    assert (run.arguments["clusters"], run.arguments["cluster_model"]) == ("cluster_df.csv", "filename.joblib")
    assert run.arguments["data"] == "stage1_train"
