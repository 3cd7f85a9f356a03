"""Planning a run's epochs within --time-limit, on a clock the tests move by hand."""

from hypothesis import given
from hypothesis import strategies as st

from nuclei.training import time_budget
from nuclei.training.time_budget import TimeBudget, epochs_that_fit


def no_scoring(total):
    return total


def last_quarter_scored(total):
    return int(total * 0.75)


def cost(total, finished, epoch_seconds, scoring_seconds, final_seconds, first_scored):
    scored = max(total - max(first_scored(total), finished), 0)
    return (total - finished) * epoch_seconds + scored * scoring_seconds + final_seconds


@given(
    seconds_left=st.floats(0, 5000),
    finished=st.integers(1, 50),
    longest=st.integers(1, 120),
    epoch_seconds=st.floats(0.1, 60),
    scoring_seconds=st.floats(0, 30),
    final_seconds=st.floats(0, 100),
)
def test_the_plan_is_the_longest_run_that_fits(
    seconds_left, finished, longest, epoch_seconds, scoring_seconds, final_seconds
):
    candidates = list(range(longest, finished, -1))
    total = epochs_that_fit(
        seconds_left, finished, candidates, epoch_seconds, scoring_seconds, final_seconds, last_quarter_scored
    )
    costs = {
        t: cost(t, finished, epoch_seconds, scoring_seconds, final_seconds, last_quarter_scored) for t in candidates
    }
    if total == finished:
        assert all(value > seconds_left for value in costs.values())
    else:
        assert costs[total] <= seconds_left
        assert all(costs[longer] > seconds_left for longer in candidates if longer > total)


def test_scored_epochs_cost_their_scoring():
    # 10 epochs of 10 s fit 100 s; scoring the last two at 10 s each leaves room for 8.
    assert epochs_that_fit(100, 0, range(20, 0, -1), 10, 0, 0, no_scoring) == 10
    assert epochs_that_fit(100, 0, range(20, 0, -1), 10, 10, 0, lambda total: total - 2) == 8
    assert epochs_that_fit(100, 0, range(20, 0, -1), 10, 0, 30, no_scoring) == 7


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def run_epochs(budget, clock, seconds):
    for epoch_seconds in seconds:
        clock.now += epoch_seconds
        budget.end_epoch()


def test_epoch_times_leave_out_scoring_and_the_tracing_first_epoch():
    clock = Clock()
    budget = TimeBudget(3600, clock=clock)
    clock.now += 90
    budget.begin_epochs()
    clock.now += 50
    budget.record_scoring(14)
    budget.end_epoch()
    assert budget.epoch_seconds == [36] and budget.typical_epoch_seconds() == 36
    run_epochs(budget, clock, [30, 31, 29])
    assert budget.typical_epoch_seconds() == 30


def test_a_slower_machine_gets_fewer_epochs_and_the_plan_follows_its_speed():
    clock = Clock()
    budget = TimeBudget(45 * 60, clock=clock)
    clock.now += 100
    budget.begin_epochs()
    budget.record_scoring(13)
    run_epochs(budget, clock, [40, 21])

    def plan():
        finished = len(budget.epoch_seconds)
        return budget.plan(finished, 90, lambda total: True, last_quarter_scored)

    fast = plan()
    run_epochs(budget, clock, [32, 32, 32])
    slow = plan()
    assert 90 >= fast > slow > 5
    seconds_left = 45 * 60 * (1 - time_budget.TIME_MARGIN) - (clock.now - 1000.0)
    final = time_budget.FINAL_TUNING_SCORINGS * 13 + time_budget.SAVING_SECONDS
    assert cost(slow, 5, 32, 13, final, last_quarter_scored) <= seconds_left
    assert cost(slow + 1, 5, 32, 13, final, last_quarter_scored) > seconds_left


def test_the_plan_stops_when_not_even_one_epoch_fits():
    clock = Clock()
    budget = TimeBudget(60, clock=clock)
    budget.record_scoring(5)
    run_epochs(budget, clock, [20, 20])
    assert budget.plan(2, 10, lambda total: True, no_scoring) == 2


def test_the_plan_keeps_to_the_ends_the_schedule_allows():
    clock = Clock()
    budget = TimeBudget(3600, clock=clock)
    budget.record_scoring(1)
    run_epochs(budget, clock, [10, 10])
    assert budget.plan(2, 100, lambda total: total <= 40, no_scoring) == 40
