"""What ends every epoch (nuclei.training.epoch_end), duty by duty, driven directly: no model is trained.

Each duty is called as nuclei.training.run.fit calls it, duty(EpochEnd(epoch from 0, logs, start), run),
and updates the run's RunConfig; epochs in the RunConfig count from 1.
"""

import time

import numpy as np
import pytest

from conftest import run_config
from nuclei import runtime

runtime.import_tensorflow()
import keras  # noqa: E402

from nuclei.training.checkpoint import CHECKPOINT, load_checkpoint  # noqa: E402
from nuclei.training.epoch_end import (  # noqa: E402
    Checkpoint,
    EarlyStopping,
    EpochEnd,
    HistoryRecord,
    LearningRateStep,
    TimeLimit,
    ValidationScoring,
)
from nuclei.training.history import read_history  # noqa: E402
from nuclei.training.schedules import AnnealSchedule, PlateauSchedule  # noqa: E402
from nuclei.training.time_budget import TimeBudget  # noqa: E402


def ended(epoch, **logs):
    """Epoch `epoch` (from 0) ending now, with logs."""
    return EpochEnd(epoch, {"loss": 0.5, "val_loss": 0.4, **logs}, time.perf_counter())


class Scores:
    """A score function for ValidationScoring: the next of scores at each call."""

    def __init__(self, *scores):
        self.scores, self.calls = scores, 0

    def __call__(self):
        self.calls += 1
        return self.scores[self.calls - 1]


class Clock:
    """A clock for TimeBudget that the tests move by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_scoring_keeps_the_best_epoch_numbered_from_1_and_its_score():
    run = run_config()
    scoring = ValidationScoring(Scores(0.3, 0.5, 0.4))
    ends = [ended(epoch) for epoch in range(3)]
    assert not any(scoring(end, run) for end in ends)
    assert [end.logs["val_score"] for end in ends] == [0.3, 0.5, 0.4]
    assert (run.best_epoch, run.best_score) == (2, 0.5)


def test_epochs_before_the_first_scored_one_are_not_scored():
    run = run_config(first_scored_epoch=3)
    scores = Scores(0.4, 0.3)
    scoring = ValidationScoring(scores)
    ends = [ended(epoch) for epoch in range(4)]
    for end in ends:
        scoring(end, run)
    assert scores.calls == 2
    assert ["val_score" in end.logs for end in ends] == [False, False, True, True]
    assert (run.best_epoch, run.best_score) == (3, 0.4)


def test_with_a_time_limit_the_first_epoch_is_scored_once_to_plan_and_not_kept():
    run = run_config(first_scored_epoch=4)
    budget = TimeBudget(600, clock=Clock())
    lines = []
    scores = Scores(0.9, 0.2)
    scoring = ValidationScoring(scores, budget, log=lines.append)
    first, second = ended(0), ended(1)
    scoring(first, run)
    scoring(second, run)
    assert scores.calls == 1 and budget.scoring_seconds is not None
    assert "val_score" not in first.logs and "val_score" not in second.logs
    assert (run.best_epoch, run.best_score) == (0, -1.0)
    assert lines == ["validation score 0.900, measured once to plan --time-limit (the epoch is not kept)"]
    fourth = ended(3)
    scoring(fourth, run)
    assert fourth.logs["val_score"] == 0.2 and (run.best_epoch, run.best_score) == (4, 0.2)


def test_the_learning_rate_step_logs_the_epochs_rate_and_keeps_the_schedules_state():
    schedule = PlateauSchedule(keras.optimizers.Adam(1e-3))
    run = run_config()
    step = LearningRateStep(schedule)
    rates = []
    for epoch, val_loss in enumerate([0.5, 0.6, 0.6, 0.6, 0.6]):
        end = EpochEnd(epoch, {"val_loss": val_loss}, 0.0)
        assert step(end, run) is False
        rates.append(end.logs["learning_rate"])
    assert rates == pytest.approx([1e-3, 1e-3, 1e-3, 1e-3, 5e-4]), "halved after 3 epochs without a lower loss"
    assert run.schedule_state == {"best": 0.5, "wait": 1} and run.schedule_state is not schedule.state
    resumed = PlateauSchedule(keras.optimizers.Adam(5e-4), state=run.schedule_state)
    assert resumed.state == schedule.state


def test_the_history_record_appends_the_epoch_and_counts_it_trained():
    history, lines = [], []
    run = run_config()
    record = HistoryRecord(history, log=lines.append)
    end = EpochEnd(2, {"loss": 0.5, "val_loss": 0.25}, time.perf_counter() - 3.0)
    assert record(end, run) is False
    assert run.trained_epochs == 3
    assert history == [{"epoch": 2, "loss": 0.5, "val_loss": 0.25, "seconds": pytest.approx(3.0, abs=0.4)}]
    assert lines == ["3s - loss: 0.5000 - val_loss: 0.2500"]


def first_epoch_of_a_time_limited_run(schedule, score_from, first_scored_epoch):
    """A run of EPOCHS 100 (10 steps each) under a 20-minute limit, 1164 s of it to spend after the margin:
    10 s of loading, then a first epoch of 100 s, 10 of them scoring. (TimeLimit, run, log lines.)"""
    clock = Clock()
    budget = TimeBudget(20 * 60, clock=clock)
    clock.now = 10.0
    lines = []
    run = run_config(epochs=100, planned_epochs=100, first_scored_epoch=first_scored_epoch)
    limit = TimeLimit(budget, schedule, 100, score_from, steps_per_epoch=10, limit_minutes=20, log=lines.append)
    clock.now += 100.0
    budget.record_scoring(10.0)
    assert limit(EpochEnd(0, {}, 0.0), run) is False
    return limit, clock, run, lines


def test_a_time_limit_plans_the_epochs_that_fit_and_stops_when_none_does():
    """1054 s left after the first epoch: 10 more of 90 s, each scored for 10 s, and the final report
    (3 scorings and 5 s of saving) fit; 11 more do not."""
    schedule = PlateauSchedule(keras.optimizers.Adam(1e-3))
    limit, clock, run, lines = first_epoch_of_a_time_limited_run(schedule, "auto", 1)
    assert (run.planned_epochs, run.first_scored_epoch) == (11, 1)
    assert lines == ["--time-limit 20 min: 11 of 100 epochs fit (epochs of 90 s, scoring 10 s)"]

    clock.now = 1100.0
    limit.budget.record_scoring(10.0)
    assert limit(EpochEnd(1, {}, 0.0), run) is False, "stopping is planning no more epochs"
    assert run.planned_epochs == 2
    assert lines[-1] == (
        "stopping: another epoch would not end within --time-limit 20 min (epochs of 980 s, scoring 10 s)"
    )


@pytest.mark.parametrize(
    ("score_from", "first_scored"),
    [("auto", 9), (91, 2)],
    ids=["the decay's epochs", "the last ten"],
)
def test_a_time_limit_brings_the_anneal_decay_and_the_scored_epochs_forward(score_from, first_scored):
    """11 of 100 epochs fit: the decay moves to the last quarter of 110 steps, and the scored epochs keep
    their place at the run's end (auto: from the decay's first epoch; --score-from 91: the last ten)."""
    optimizer = keras.optimizers.Adam(AnnealSchedule.optimizer_learning_rate(1e-3, 100 * 10))
    _, _, run, lines = first_epoch_of_a_time_limited_run(AnnealSchedule(optimizer), score_from, 76)
    assert (run.planned_epochs, run.first_scored_epoch) == (11, first_scored)
    assert optimizer._learning_rate.total_steps == 110
    assert lines == ["--time-limit 20 min: 11 of 100 epochs fit (epochs of 90 s, scoring 10 s)"]


def small_model(kernel):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.layers[0].kernel.assign(np.full((2, 1), kernel, np.float32))
    return model


def test_the_checkpoint_keeps_the_last_epoch_and_the_best_epochs_weights(tmp_path):
    model, history, run = small_model(0.0), [], run_config()
    checkpoint = Checkpoint(tmp_path, model, history)

    def finish_epoch(number, best):
        """Epoch number (from 1) ends, its weights all `number`; returns the best weights files kept."""
        model.layers[0].kernel.assign(np.full((2, 1), number, np.float32))
        history.append({"epoch": number - 1, "loss": 1.0 / number})
        run.trained_epochs = number
        if best:
            run.best_epoch, run.best_score = number, 0.1 * number
        assert checkpoint(EpochEnd(number - 1, {}, 0.0), run) is False
        return sorted(path.name for path in tmp_path.glob("best-epoch*"))

    assert finish_epoch(1, best=True) == ["best-epoch1.weights.h5"]
    assert finish_epoch(2, best=False) == ["best-epoch1.weights.h5"]
    probe = small_model(0.0)
    probe.load_weights(tmp_path / "best-epoch1.weights.h5")
    assert np.all(probe.layers[0].kernel.numpy() == 1.0), "the best weights are the best epoch's, not the last's"
    assert finish_epoch(3, best=True) == ["best-epoch3.weights.h5"]
    assert load_checkpoint(tmp_path) == run
    assert read_history(tmp_path / "history.csv") == history
    last = keras.saving.load_model(tmp_path / CHECKPOINT)
    assert np.all(last.layers[0].kernel.numpy() == 3.0)


def test_early_stopping_counts_the_epochs_since_the_best_and_only_when_scored():
    lines = []
    stop = EarlyStopping(patience=2, log=lines.append)
    run = run_config(best_epoch=1, best_score=0.5)
    assert stop(ended(1, val_score=0.4), run) is False
    assert stop(ended(5), run) is False, "an epoch without a score never stops the run"
    assert stop(ended(2, val_score=0.3), run) is True
    assert lines == ["stopping: no better validation score in the 2 epochs after epoch 1"]


def fit(duties, run):
    """The epochs as nuclei.training.run.fit ends them, without the training: every duty, then stop if any asks."""
    epoch = run.trained_epochs
    while epoch < run.planned_epochs:
        end = ended(epoch)
        if any([duty(end, run) for duty in duties]):
            break
        epoch += 1


def test_patience_counts_scored_epochs_only_and_the_history_keeps_every_epoch():
    history, lines = [], []
    run = run_config(first_scored_epoch=3)
    duties = [
        ValidationScoring(Scores(0.5, 0.4, 0.3)),
        LearningRateStep(PlateauSchedule(keras.optimizers.Adam(1e-3))),
        HistoryRecord(history, log=lambda _: None),
        EarlyStopping(patience=1, log=lines.append),
    ]
    fit(duties, run)
    assert run.trained_epochs == 4 and (run.best_epoch, run.best_score) == (3, 0.5)
    assert [row["epoch"] for row in history] == [0, 1, 2, 3]
    assert ["val_score" in row for row in history] == [False, False, True, True]
    assert lines == ["stopping: no better validation score in the 1 epochs after epoch 3"]
