"""Learning-rate schedules of the training loop."""

import numpy as np
import pytest

import cli

cli.import_tensorflow()
import keras  # noqa: E402

import training  # noqa: E402
from train_loop import SCHEDULES, AnnealSchedule  # noqa: E402
from trainer_functional import HoldThenCosine  # noqa: E402


def test_every_schedule_can_be_chosen_on_the_command_line():
    parser = training.make_parser("doc", "my_model")
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
        (["--schedule", "anneal"], 40),
        (["--schedule", "plateau"], 0),
        (["--schedule", "cosine"], 0),
        (["--schedule", "anneal", "--score-from", "3"], 2),
    ],
)
def test_scoring_begins_with_the_decay_unless_told(options, first):
    """54 epochs annealed over the last quarter: the rate leaves its constant value during epoch 41 (40 from 0)."""
    parser = training.make_parser("doc", "my_model")
    args = parser.parse_args(["32", "54", "16", "1e-3", *options])
    assert training.first_scored_epoch(args, SCHEDULES[args.schedule]) == first
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


@pytest.mark.parametrize(
    ("choice", "gpu_visible", "cpu_has_bfloat16", "policy"),
    [
        ("auto", True, False, "mixed_float16"),
        ("auto", False, True, "mixed_bfloat16"),
        ("auto", False, False, "float32"),
        ("on", False, False, "mixed_bfloat16"),
        ("on", True, True, "mixed_float16"),
        ("off", True, True, "float32"),
        ("float16", False, True, "mixed_float16"),
        ("bfloat16", True, False, "mixed_bfloat16"),
    ],
)
def test_mixed_precision_takes_the_16_bit_type_of_the_device(choice, gpu_visible, cpu_has_bfloat16, policy):
    assert training.compute_policy(choice, gpu_visible, cpu_has_bfloat16) == policy


def test_mixed_precision_is_auto_unless_asked():
    assert training.make_parser("doc", "my_model").parse_args(["32", "1", "2", "1e-3"]).mixed_precision == "auto"


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


@pytest.mark.parametrize(("options", "first", "first_of_90"), [(["--score-from", "81"], 64, 80), ([], 55, 67)])
def test_a_shorter_plan_keeps_the_scored_epochs_at_its_end(options, first, first_of_90):
    """90 epochs cut to 74: --score-from 81 still scores the last ten, auto the decay's (the last quarter)."""
    parser = training.make_parser("doc", "my_model")
    args = parser.parse_args(["32", "90", "16", "1e-3", "--schedule", "anneal", *options])
    assert training.first_scored_epoch(args, AnnealSchedule, 74) == first
    assert training.first_scored_epoch(args, AnnealSchedule, 90) == first_of_90
