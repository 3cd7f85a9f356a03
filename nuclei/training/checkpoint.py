"""The working folder of a run: its last finished epoch, kept so that an interruption loses at most one.

Usage::

    save_checkpoint(work_dir, model, history, run)    # after every epoch
    run = load_checkpoint(work_dir)                   # --resume: the RunConfig saved
    model = load_model_file(work_dir / CHECKPOINT)
    with sigterm_as_interrupt():                      # SIGTERM stops as Ctrl-C does
        ...

The working folder (``<out>.partial/``) holds the model of the last finished
epoch (``checkpoint.keras``), the weights of the best-scoring epoch so far
(``best-epoch<N>.weights.h5``), ``history.csv`` and ``config.json``, the
run's RunConfig with its progress. config.json is written last, so a run
killed at any moment resumes from an epoch whose files are all complete.
"""

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

from nuclei.errors import UserError
from nuclei.files import atomic_save
from nuclei.training.config import RunConfig
from nuclei.training.history import write_history

CHECKPOINT = "checkpoint.keras"
RUN_STATE = "config.json"
LEGACY_STATE = "checkpoint.json"
"""The resume state of runs interrupted before the RunConfig existed."""
BEST_WEIGHTS = "best-epoch{}.weights.h5"
"""The weights of the best-scoring epoch so far, numbered from 1."""


def save_checkpoint(work_dir: Path, model, history: list[dict], run: RunConfig) -> None:
    """The model (and its weights, if this epoch is the best so far), history.csv, then the run, each atomically.

    The best weights the run no longer names are removed after it.
    """
    best_name = BEST_WEIGHTS.format(run.best_epoch)
    if run.best_epoch and run.best_epoch == run.trained_epochs:
        atomic_save(work_dir / best_name, model.save_weights)
    atomic_save(work_dir / CHECKPOINT, model.save)
    write_history(work_dir / "history.csv", history)
    run.save(work_dir / RUN_STATE)
    for stale in work_dir.glob(BEST_WEIGHTS.format("*")):
        if stale.name != best_name:
            stale.unlink()


def load_checkpoint(work_dir: Path) -> RunConfig:
    """The RunConfig of the interrupted run in work_dir; UserError when there is none to resume."""
    if not (work_dir / CHECKPOINT).is_file():
        raise UserError(f"nothing to resume: {work_dir} holds no finished epoch")
    if (work_dir / LEGACY_STATE).is_file() and not (work_dir / RUN_STATE).is_file():
        try:
            return _from_legacy_state(json.loads((work_dir / LEGACY_STATE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise UserError(f"{work_dir / LEGACY_STATE} is not a readable checkpoint state: {error}") from None
    if not (work_dir / RUN_STATE).is_file():
        raise UserError(f"nothing to resume: {work_dir} holds no finished epoch")
    return RunConfig.load(work_dir / RUN_STATE)


def _from_legacy_state(state: dict) -> RunConfig:
    """A checkpoint.json of an earlier version as the RunConfig fields a resumed run keeps.

    Its blur, contact weight and schedule default to what such checkpoints
    were trained with before they recorded them.
    """
    best = state.get("best", {"epoch": -1, "score": -1.0})
    return RunConfig(
        script="",
        arguments={},
        img_size=0,
        epochs=state.get("planned_epochs", 0),
        batch_size=0,
        learning_rate=0.0,
        schedule=state.get("schedule_name", "plateau"),
        max_blur_sigma=state.get("max_blur", 3.0),
        contact_weight=state.get("contact_weight", 0.0),
        boundary_width=state.get("boundary_width", 2),
        seed=state["seed"],
        split_seed=state.get("split_seed", state["seed"]),
        sampling={},
        train_ids=state["train_ids"],
        val_ids=state["val_ids"],
        trained_epochs=state["finished_epochs"],
        planned_epochs=state.get("planned_epochs", 0),
        best_epoch=best["epoch"] + 1,
        best_score=best["score"],
        schedule_state=state.get("schedule") or {},
    )


def finished_epochs(work_dir: Path) -> int:
    """How many epochs the working folder keeps (0 before the first is saved)."""
    try:
        return load_checkpoint(work_dir).trained_epochs
    except UserError:
        return 0


def remove_checkpoint(work_dir: Path, run: RunConfig) -> None:
    """Remove what only a resumed run needs, once the model folder is complete."""
    for leftover in (CHECKPOINT, LEGACY_STATE, BEST_WEIGHTS.format(run.best_epoch)):
        (work_dir / leftover).unlink(missing_ok=True)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (a scheduler's or `kill`'s stop) raises KeyboardInterrupt, as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
