"""Learning-rate schedules: how the rate moves over a run, and how a run's end can move.

Usage::

    schedule_class = SCHEDULES["anneal"]
    optimizer = keras.optimizers.Adam(schedule_class.optimizer_learning_rate(1e-3, total_steps))
    schedule = schedule_class(optimizer)
    ...after each epoch...
    schedule.update(val_loss)

AnnealSchedule's optimizer holds a ``HoldThenCosine`` (nuclei.model.learning_rate),
which a saved model keeps.
"""

import math

import keras
import numpy as np

from nuclei.model.learning_rate import HoldThenCosine


class Schedule:
    """What the training loop asks of a learning-rate schedule.

    ``optimizer_learning_rate`` is what the optimizer is built with; ``update``
    is called after each epoch; ``state`` goes into the checkpoint, so that a
    resumed run follows the same schedule.
    """

    def __init__(self, optimizer, state: dict | None = None):
        self.optimizer = optimizer
        self.state = dict(state or self.initial_state())

    @staticmethod
    def initial_state() -> dict:
        """The state of a run that has not begun."""
        return {}

    @staticmethod
    def optimizer_learning_rate(learning_rate: float, total_steps: int):
        """The learning rate (a number or a Keras schedule) the optimizer is built with."""
        return learning_rate

    @property
    def learning_rate(self) -> float:
        """The optimizer's learning rate now."""
        return float(np.asarray(self.optimizer.learning_rate))

    def update(self, val_loss: float) -> float:
        """Record an epoch's validation loss; returns the learning rate for the next epoch."""
        return self.learning_rate

    @staticmethod
    def first_epoch_worth_scoring(epochs: int) -> int:
        """The first epoch (from 0) whose weights may be the run's best: any, unless the schedule says otherwise."""
        return 0

    @staticmethod
    def can_end_after(finished_epochs: int, total_epochs: int, planned_epochs: int) -> bool:
        """Whether a run finished_epochs in, planned to end after planned_epochs, may end after total_epochs
        instead (a time limit's plan): yes, where the rate does not depend on the run's end. Stopping now is
        always possible and not asked."""
        return True

    def end_after(self, total_epochs: int, steps_per_epoch: int) -> None:
        """Make the learning rate follow a run of total_epochs epochs (a time limit's plan)."""


class PlateauSchedule(Schedule):
    """Halve the learning rate (down to MIN_LR) when the validation loss has not improved for PATIENCE epochs."""

    FACTOR, PATIENCE, MIN_LR = 0.5, 3, 1e-5

    @staticmethod
    def initial_state() -> dict:
        """No best loss yet (None, which JSON holds, rather than infinity, which it does not)."""
        return {"best": None, "wait": 0}

    def update(self, val_loss: float) -> float:
        best = self.state["best"]
        if math.isfinite(val_loss) and (best is None or val_loss < best):
            self.state = {"best": val_loss, "wait": 0}
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.PATIENCE and self.learning_rate > self.MIN_LR:
                self.optimizer.learning_rate.assign(max(self.learning_rate * self.FACTOR, self.MIN_LR))
                self.state["wait"] = 0
        return self.learning_rate


class CosineSchedule(Schedule):
    """The learning rate follows a cosine from its start value down to ALPHA of it over the whole run.

    The decay is a Keras schedule inside the optimizer, driven by the
    optimizer's step count, which the checkpoint keeps; nothing to update.
    """

    ALPHA = 0.02

    @staticmethod
    def optimizer_learning_rate(learning_rate: float, total_steps: int):
        return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=CosineSchedule.ALPHA)

    @staticmethod
    def can_end_after(finished_epochs: int, total_epochs: int, planned_epochs: int) -> bool:
        """Only as planned: the decay spans the whole run, so another end changes every rate so far."""
        return total_epochs == planned_epochs


class AnnealSchedule(Schedule):
    """The learning rate stays at its start value, then follows a cosine down to ALPHA of it over the
    last ANNEAL_FRACTION of the run's steps (a warmup-stable-decay schedule without the warm-up).

    Short runs need the full rate for most of their steps; the final descent
    settles the weights that a constant rate leaves jumping about. Driven by
    the optimizer's step count, like CosineSchedule, so it resumes exactly.
    """

    ALPHA, ANNEAL_FRACTION = 0.02, 0.25

    @staticmethod
    def optimizer_learning_rate(learning_rate: float, total_steps: int):
        return HoldThenCosine(learning_rate, total_steps, AnnealSchedule.ANNEAL_FRACTION, AnnealSchedule.ALPHA)

    @staticmethod
    def first_epoch_worth_scoring(epochs: int) -> int:
        """The epoch (from 0) in which the decay begins: the weights of the constant rate before it jump
        about, and annealed runs keep an epoch of the decay (docs/quality-log.md)."""
        return int(epochs * (1.0 - AnnealSchedule.ANNEAL_FRACTION))

    @staticmethod
    def can_end_after(finished_epochs: int, total_epochs: int, planned_epochs: int) -> bool:
        """Sooner, always: where the decay moves into the past, the rate drops to where it would be (a
        shorter descent beats none). Later, only while the rate is held, lest it rise again."""
        return total_epochs <= planned_epochs or finished_epochs <= total_epochs * (
            1.0 - AnnealSchedule.ANNEAL_FRACTION
        )

    def end_after(self, total_epochs: int, steps_per_epoch: int) -> None:
        """Move the decay to the last quarter of a run of total_epochs. Keras has no public accessor for an
        optimizer's schedule object, hence the private attribute."""
        optimizer = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        optimizer._learning_rate.set_total_steps(total_epochs * steps_per_epoch)


SCHEDULES = {"plateau": PlateauSchedule, "cosine": CosineSchedule, "anneal": AnnealSchedule}
