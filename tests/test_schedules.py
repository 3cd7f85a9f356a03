"""Learning-rate schedules (nuclei.training.schedules), and the first scored epoch that follows them."""

import numpy as np
import pytest

from nuclei import runtime

runtime.import_tensorflow()
import keras  # noqa: E402

from nuclei.training import arguments  # noqa: E402
from nuclei.training.epoch_end import first_scored_epoch  # noqa: E402
from nuclei.training.schedules import SCHEDULES, AnnealSchedule, HoldThenCosine  # noqa: E402


def test_every_schedule_can_be_chosen_on_the_command_line():
    parser = arguments.make_parser("doc", "my_model")
    args = ["32", "1", "2", "1e-3", "--schedule"]
    assert {name for name in SCHEDULES if parser.parse_args([*args, name]).schedule == name} == set(SCHEDULES)


def test_anneal_holds_the_rate_then_descends_to_alpha():
    schedule = AnnealSchedule.optimizer_learning_rate(1e-3, 100)
    rates = [float(schedule(step)) for step in (0, 50, 75, 87.5, 100, 150)]
    assert rates[:3] == pytest.approx([1e-3] * 3)
    assert rates[3] == pytest.approx(1e-3 * (AnnealSchedule.ALPHA + 1) / 2)
    assert rates[4] == rates[5] == pytest.approx(1e-3 * AnnealSchedule.ALPHA)
    assert np.all(np.diff(rates) <= 1e-12)


@pytest.mark.parametrize(
    "options, first",
    [
        (["--schedule", "anneal"], 41),
        (["--schedule", "plateau"], 1),
        (["--schedule", "cosine"], 1),
        (["--schedule", "anneal", "--score-from", "3"], 3),
    ],
)
def test_scoring_begins_with_the_decay_unless_told(options, first):
    """54 epochs annealed over the last quarter: the rate leaves its constant value during epoch 41 (from 1)."""
    parser = arguments.make_parser("doc", "my_model")
    args = arguments.parse(parser, ["32", "54", "16", "1e-3", *options])
    assert first_scored_epoch(args.score_from, args.epochs, SCHEDULES[args.schedule], args.epochs) == first
    steps_per_epoch = 10
    schedule = AnnealSchedule.optimizer_learning_rate(1e-3, 54 * steps_per_epoch)
    decay_begins = 40 * steps_per_epoch + steps_per_epoch // 2
    assert float(schedule(decay_begins)) == pytest.approx(1e-3) and float(schedule(decay_begins + 1)) < 1e-3


def test_anneal_survives_saving_with_the_optimizer(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(HoldThenCosine(1e-3, 10, 0.5, 0.1)), loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=7, batch_size=8, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert int(reloaded.optimizer.iterations) == 7
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(float(model.optimizer.learning_rate))
    assert float(model.optimizer.learning_rate) < 1e-3


def test_a_shorter_anneal_moves_its_decay_without_tracing_again(tmp_path):
    import tensorflow as tf

    schedule = AnnealSchedule.optimizer_learning_rate(1e-3, 100)
    rate_at = tf.function(lambda step: schedule(step))
    assert float(rate_at(tf.constant(60.0))) == pytest.approx(1e-3)
    schedule.set_total_steps(60)
    assert schedule.total_steps == 60 and schedule.get_config()["total_steps"] == 60
    assert float(rate_at(tf.constant(60.0))) == pytest.approx(1e-3 * AnnealSchedule.ALPHA)
    assert rate_at.experimental_get_tracing_count() == 1

    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(HoldThenCosine(1e-3, 100, 0.25, 0.02)), loss="mse")
    model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, batch_size=8, verbose=0)
    AnnealSchedule(model.optimizer).end_after(3, steps_per_epoch=1)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(float(model.optimizer.learning_rate))
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3 * AnnealSchedule.ALPHA)


@pytest.mark.parametrize(
    ("finished", "total", "planned", "allowed"),
    [
        (30, 60, 90, True),  # sooner, the rate still held
        (60, 70, 90, True),  # sooner, the decay moves into the past: the rate drops
        (30, 100, 90, True),  # later, while held
        (70, 100, 90, True),  # later, the decay not yet begun in the longer run
        (80, 100, 90, False),  # later, the decay begun: the rate would rise
    ],
)
def test_anneal_ends_sooner_at_any_time_and_later_only_while_holding(finished, total, planned, allowed):
    assert AnnealSchedule.can_end_after(finished, total, planned) is allowed
    assert SCHEDULES["plateau"].can_end_after(finished, total, planned)
    assert SCHEDULES["cosine"].can_end_after(finished, total, planned) is (total == planned)


@pytest.mark.parametrize(("options", "first", "first_of_90"), [(["--score-from", "81"], 65, 81), ([], 56, 68)])
def test_a_shorter_plan_keeps_the_scored_epochs_at_its_end(options, first, first_of_90):
    """90 epochs cut to 74: --score-from 81 still scores the last ten, auto the decay's (the last quarter)."""
    parser = arguments.make_parser("doc", "my_model")
    args = arguments.parse(parser, ["32", "90", "16", "1e-3", "--schedule", "anneal", *options])
    assert first_scored_epoch(args.score_from, args.epochs, AnnealSchedule, 74) == first
    assert first_scored_epoch(args.score_from, args.epochs, AnnealSchedule, 90) == first_of_90


def test_a_given_first_scored_epoch_never_comes_before_the_first():
    """A run cut by more epochs than lie before --score-from scores from its first epoch."""
    assert first_scored_epoch(3, 90, AnnealSchedule, 74) == 1
