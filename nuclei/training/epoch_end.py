"""What happens at the end of every epoch, one duty per class, in the order the run calls them.

Usage::

    duties = [
        ValidationScoring(lambda: epoch_score(model, val_samples)),
        LearningRateStep(schedule),
        HistoryRecord(history),
        TimeLimit(budget, schedule, epochs=100, score_from="auto", steps_per_epoch=96, limit_minutes=45),
        Checkpoint(work_dir, model, history),
        EarlyStopping(patience=5),
    ]
    for duty in duties:
        stop = duty(EpochEnd(epoch, logs, started), run) or stop

Each duty is called with the epoch that ended and the run's RunConfig, whose
progress fields (best epoch and score, planned epochs, first scored epoch,
schedule state) it may update; it returns True to stop the run after this
epoch. Tests drive each one directly.
"""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nuclei.training.checkpoint import save_checkpoint
from nuclei.training.config import RunConfig
from nuclei.training.schedules import Schedule
from nuclei.training.time_budget import TimeBudget

Log = Callable[[str], None]


@dataclass
class EpochEnd:
    """An epoch that has just ended: its number (from 0), its logs so far, and when it began (perf_counter)."""

    epoch: int
    logs: dict[str, float]
    started: float


def first_scored_epoch(score_from: int | str, epochs: int, schedule_class: type[Schedule], planned: int) -> int:
    """The first epoch (from 1) that ends with the validation score, in a run of EPOCHS epochs planned to
    end after planned: --score-from "auto" follows the schedule, and an epoch given keeps its distance
    from the end."""
    if score_from == "auto":
        return schedule_class.first_epoch_worth_scoring(planned) + 1
    return max(score_from - (epochs - planned), 1)


class ValidationScoring:
    """Adds the validation images' competition score (``val_score``) from the run's first scored epoch on,
    and keeps the best epoch and score in the run.

    score() returns the score of the model as it is now. With a time budget
    and no scored epoch yet, the first epoch is scored once anyway, so that
    the budget knows what a scoring costs; that score is not kept.
    """

    def __init__(self, score: Callable[[], float], budget: TimeBudget | None = None, log: Log = print):
        self.score, self.budget, self.log = score, budget, log

    def __call__(self, end: EpochEnd, run: RunConfig) -> bool:
        scored = end.epoch + 1 >= run.first_scored_epoch
        if not scored and not (self.budget and self.budget.scoring_seconds is None):
            return False
        started = time.perf_counter()
        score = self.score()
        if self.budget:
            self.budget.record_scoring(time.perf_counter() - started)
        if not scored:
            self.log(f"validation score {score:.3f}, measured once to plan --time-limit (the epoch is not kept)")
            return False
        end.logs["val_score"] = score
        if score > run.best_score:
            run.best_epoch, run.best_score = end.epoch + 1, score
        return False


class LearningRateStep:
    """Logs the epoch's learning rate, lets the schedule see its validation loss, and keeps its state."""

    def __init__(self, schedule: Schedule):
        self.schedule = schedule

    def __call__(self, end: EpochEnd, run: RunConfig) -> bool:
        end.logs["learning_rate"] = self.schedule.learning_rate
        self.schedule.update(end.logs["val_loss"])
        run.schedule_state = dict(self.schedule.state)
        return False


class HistoryRecord:
    """Prints the epoch's line and appends its row (logs and seconds) to history, which the checkpoint saves."""

    def __init__(self, history: list[dict], log: Log = print):
        self.history, self.log = history, log

    def __call__(self, end: EpochEnd, run: RunConfig) -> bool:
        seconds = time.perf_counter() - end.started
        self.log(f"{seconds:.0f}s - " + " - ".join(f"{name}: {value:.4f}" for name, value in end.logs.items()))
        self.history.append({"epoch": end.epoch, **end.logs, "seconds": seconds})
        run.trained_epochs = end.epoch + 1
        return False


class TimeLimit:
    """Plans the run's epochs anew from the time left (--time-limit), moving the schedule's end and the
    first scored epoch with it; logs each change of plan. Stopping is planning no more epochs.

    Made right before the first epoch: it tells the budget that the epochs begin now.
    """

    def __init__(
        self,
        budget: TimeBudget,
        schedule: Schedule,
        epochs: int,
        score_from: int | str,
        steps_per_epoch: int,
        limit_minutes: float,
        log: Log = print,
    ):
        self.budget, self.schedule, self.epochs, self.score_from = budget, schedule, epochs, score_from
        self.steps_per_epoch, self.limit_minutes, self.log = steps_per_epoch, limit_minutes, log
        budget.begin_epochs()

    def _first_scored(self, total):
        return first_scored_epoch(self.score_from, self.epochs, type(self.schedule), total) - 1

    def __call__(self, end: EpochEnd, run: RunConfig) -> bool:
        self.budget.end_epoch()
        finished, planned = end.epoch + 1, run.planned_epochs
        can_end_after = functools.partial(self.schedule.can_end_after, finished, planned_epochs=planned)
        replanned = self.budget.plan(finished, self.epochs, can_end_after, self._first_scored)
        if replanned != planned:
            timing = (
                f"epochs of {self.budget.typical_epoch_seconds():.0f} s, scoring {self.budget.scoring_seconds:.0f} s"
            )
            if replanned > finished:
                self.schedule.end_after(replanned, self.steps_per_epoch)
                self.log(f"--time-limit {self.limit_minutes:g} min: {replanned} of {self.epochs} epochs fit ({timing})")
            else:
                self.log(
                    f"stopping: another epoch would not end within --time-limit {self.limit_minutes:g} min ({timing})"
                )
        run.planned_epochs = replanned
        run.first_scored_epoch = self._first_scored(replanned) + 1
        return False


class Checkpoint:
    """Saves the epoch in the working folder (nuclei.training.checkpoint), so an interruption loses at most one."""

    def __init__(self, work_dir: Path, model, history: list[dict]):
        self.work_dir, self.model, self.history = work_dir, model, history

    def __call__(self, end: EpochEnd, run: RunConfig) -> bool:
        save_checkpoint(self.work_dir, self.model, self.history, run)
        return False


class EarlyStopping:
    """Stops the run after patience scored epochs without a better validation score (--patience)."""

    def __init__(self, patience: int, log: Log = print):
        self.patience, self.log = patience, log

    def __call__(self, end: EpochEnd, run: RunConfig) -> bool:
        if "val_score" not in end.logs or end.epoch + 1 - run.best_epoch < self.patience:
            return False
        self.log(f"stopping: no better validation score in the {self.patience} epochs after epoch {run.best_epoch}")
        return True
