"""Fitting a training run into a wall-clock limit (the trainers' --time-limit).

Usage::

    budget = TimeBudget(45 * 60)                 # seconds, counted from here
    budget.begin_epochs()
    ...each epoch...
    budget.record_scoring(scoring_seconds)       # whenever the validation images are scored
    budget.end_epoch()
    total = budget.plan(finished, longest, can_end_after, first_scored)

A shared machine's speed varies from hour to hour, so a fixed number of
epochs either wastes a time budget or overruns it. The plan is remade after
every epoch from what the run has measured so far: the median time from one
epoch's end to the next, scoring left out (the first epoch, which traces the
training step, counts only until there is another); the last scoring of the
validation images; and the final report, which predicts them with and
without flips and tunes the post-processing twice (FINAL_TUNING_SCORINGS
scorings), then SAVING_SECONDS. A TIME_MARGIN of the limit is kept back for
the machine slowing down within the run.
"""

import statistics
import time
from collections.abc import Callable

FINAL_TUNING_SCORINGS = 3.0
"""The run's closing validation report, in units of one scoring of the validation images
(measured in docs/quality-log.md)."""
SAVING_SECONDS = 5.0
"""Writing the model folder after the report: a float32 copy of the model, its file and the figures."""
TIME_MARGIN = 0.03
"""The fraction of the limit the plan leaves unused."""


def epochs_that_fit(
    seconds_left: float,
    finished: int,
    candidates: list[int],
    epoch_seconds: float,
    scoring_seconds: float,
    final_seconds: float,
    first_scored: Callable[[int], int],
) -> int:
    """The first of candidates (totals of epochs, longest first) whose epochs still to run fit in seconds_left.

    A total of T costs (T - finished) epochs of epoch_seconds, a scoring of
    scoring_seconds for each of them from first_scored(T) (an epoch counted
    from 0) on, and final_seconds. Where none fits, finished: stop now.
    """
    for total in candidates:
        scored = total - max(first_scored(total), finished)
        cost = (total - finished) * epoch_seconds + max(scored, 0) * scoring_seconds + final_seconds
        if cost <= seconds_left:
            return total
    return finished


class TimeBudget:
    """A run's wall-clock limit and the epoch and scoring times measured so far.

    limit_seconds counts from the budget's creation; clock returns seconds
    (time.monotonic, replaceable for tests).
    """

    def __init__(self, limit_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.limit_seconds = float(limit_seconds)
        self.clock = clock
        self.started = self._epoch_began = clock()
        self.epoch_seconds = []
        self.scoring_seconds = None
        self._scoring_this_epoch = 0.0

    def begin_epochs(self) -> None:
        """The first epoch begins now (the time before it was loading and building)."""
        self._epoch_began = self.clock()

    def record_scoring(self, seconds: float) -> None:
        """One scoring of the validation images, within the current epoch."""
        self.scoring_seconds = float(seconds)
        self._scoring_this_epoch += float(seconds)

    def end_epoch(self) -> None:
        """The current epoch ends now: its time since the last end (saving included), less its scoring."""
        now = self.clock()
        self.epoch_seconds.append(now - self._epoch_began - self._scoring_this_epoch)
        self._epoch_began, self._scoring_this_epoch = now, 0.0

    @property
    def seconds_left(self) -> float:
        """Seconds the plan may still spend: the limit less its margin and the time gone."""
        return self.limit_seconds * (1.0 - TIME_MARGIN) - (self.clock() - self.started)

    def typical_epoch_seconds(self) -> float:
        """The median epoch, the first left out once there is another (it traces the training step)."""
        measured = self.epoch_seconds[1:] or self.epoch_seconds
        return statistics.median(measured)

    def plan(
        self, finished: int, longest: int, can_end_after: Callable[[int], bool], first_scored: Callable[[int], int]
    ) -> int:
        """The total of epochs to train, finished of them done: the longest that fits of those up to longest
        that the schedule can end after (can_end_after(total)), or finished (stop now).

        first_scored(total) is the first scored epoch (from 0) of a run of total epochs.
        """
        scoring = self.scoring_seconds or 0.0
        candidates = [total for total in range(longest, finished, -1) if can_end_after(total)]
        return epochs_that_fit(
            self.seconds_left,
            finished,
            candidates,
            self.typical_epoch_seconds(),
            scoring,
            FINAL_TUNING_SCORINGS * scoring + SAVING_SECONDS,
            first_scored,
        )
