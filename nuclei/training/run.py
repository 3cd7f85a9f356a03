"""A training run as both trainers share it: from the parsed command line to the model folder.

Usage (from a trainer script, after ``runtime.import_tensorflow()``)::

    from nuclei.training.run import train
    train(args, uniform_sampler, sampling={"method": "uniform"}, script="trainer.py")

The phases, in order:

1. ``start_config``: the RunConfig from the command line, or the interrupted run's (--resume).
2. ``load_training_data`` (nuclei.training.data): the images loaded, typed, split and drawn.
3. ``build_session``: the datasets, the model (new, or the checkpoint's), its loop and schedule.
4. ``fit``: the epochs, each ended by the duties of nuclei.training.epoch_end.
5. ``finish``: the best epoch's weights in float32, the validation report, the folder committed.

Under a multi-worker strategy every worker trains; only the chief logs and
writes the model folder. --time-limit counts from the start of ``train``.
"""

import datetime
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from nuclei import options
from nuclei.data.annotations import open_labelled
from nuclei.data.image_types import ImageTyper
from nuclei.data.pipelines import distributed_training_data, prepare_for_training, validation_dataset
from nuclei.data.sizes import training_sizes
from nuclei.errors import UserError
from nuclei.files import atomic_save
from nuclei.model.folder import ModelFolderWriter, load_model_file
from nuclei.model.unet import DEFAULT_FILTERS, build_unet, compile_unet, float32_copy
from nuclei.runtime import cpu_has_bfloat16, gpu_visible
from nuclei.training import distribution, epoch_end
from nuclei.training.checkpoint import (
    BEST_WEIGHTS,
    CHECKPOINT,
    finished_epochs,
    load_checkpoint,
    remove_checkpoint,
    sigterm_as_interrupt,
)
from nuclei.training.config import RunConfig, package_versions, source_revision
from nuclei.training.data import TrainingData, image_ids_to_load, load_training_data
from nuclei.training.history import plot_history, read_history
from nuclei.training.loop import TrainLoop
from nuclei.training.parent import parent_record, with_parent_sizes
from nuclei.training.precision import compute_policy, new_adam, policy_scope, xla_compiles
from nuclei.training.sampling import Sampler
from nuclei.training.schedules import SCHEDULES, Schedule
from nuclei.training.time_budget import TimeBudget
from nuclei.training.validation import epoch_score, write_report

Log = Callable[[str], None]


@dataclass
class Session:
    """What the epochs run on: the model, its training loop and schedule, and the data they read."""

    model: keras.Model
    loop: TrainLoop
    schedule: Schedule
    iterator: Any
    val_data: Any


def train(
    args: Any,
    sampler: Sampler,
    sampling: dict[str, Any],
    script: str,
    log: Log = print,
    score: Callable[[keras.Model, list], float] = epoch_score,
    started: float | None = None,
) -> Path | None:
    """Train a U-Net as args say, drawing each epoch's images with sampler; returns the model folder written
    (None on a worker that is not the chief). score(model, validation samples) scores an epoch; started
    (time.monotonic()) is when the run began, TensorFlow's start-up included: now, unless given."""
    started = time.monotonic() if started is None else started
    budget = TimeBudget(args.time_limit * 60.0 - (time.monotonic() - started)) if args.time_limit else None
    run = start_config(args, sampling, script)
    if args.resume and args.init:
        log("note: --init is ignored with --resume: the run continues from its checkpoint, its parent as recorded")
    strategy = distribution.make_strategy(args.strategy)
    chief = distribution.is_chief(strategy)
    log = log if chief else _silent
    labelled = open_labelled(args.data, args.binary_masks, args.channel)
    log(labelled.describe())
    ids = image_ids_to_load(run, labelled, args.limit, log)
    typer = ImageTyper(args.clusters, args.cluster_model)
    cache_dir = options.cache_dir_of(args)
    data = load_training_data(run, labelled, ids, args.val_fraction, sampler, typer, cache_dir, chief, log)
    writer = ModelFolderWriter(args.out, resume=args.resume) if chief else None
    resume_dir = ModelFolderWriter.work_dir_of(args.out) if args.resume else None
    policy = run.training_precision or compute_policy(args.mixed_precision, gpu_visible(), cpu_has_bfloat16())
    with policy_scope(policy):
        settle(run, args, data, strategy, policy)
        session = build_session(run, data, strategy, resume_dir, log, args.init)
        log(f"compute precision: {run.training_precision} (--mixed-precision)")
        history = read_history(writer.work_dir / "history.csv", run.trained_epochs) if writer and args.resume else []
        duties = epoch_duties(run, args, session, data, history, writer, budget, score, log)
        fit(session, run, duties, writer, progress=chief and _is_terminal(), log=log)
    if not writer:
        return None
    return finish(run, session.model, data, history, writer, started, log)


def start_config(args: Any, sampling: dict[str, Any], script: str) -> RunConfig:
    """The RunConfig of the command line, continuing the interrupted run in OUT.partial with --resume."""
    run = RunConfig.from_arguments(args, script, sampling)
    if args.resume:
        run = run.resumed_from(load_checkpoint(ModelFolderWriter.work_dir_of(args.out)))
    return run


def settle(run: RunConfig, args: Any, data: TrainingData, strategy, policy: str) -> None:
    """Record in run what the data and devices decided: the split, the steps, the precision, the versions."""
    import tensorflow as tf

    if not run.train_ids:
        run.train_ids, run.val_ids = data.train_ids, data.val_ids
    run.skipped = [{"ImageId": image_id, "reason": reason} for image_id, reason in data.skipped]
    run.samples_per_epoch = len(data.sample_indices)
    run.steps_per_epoch = args.steps_per_epoch or math.ceil(len(data.sample_indices) / run.batch_size)
    run.filters = list(DEFAULT_FILTERS)
    sizes = training_sizes(sample.labels for sample in data.train)
    if args.init and not args.resume:
        run.parent = parent_record(args.init, run)
    if run.parent:
        sizes = with_parent_sizes(sizes, run.parent)
    if sizes:
        run.nucleus_diameter, run.nucleus_diameter_range = sizes.median, [sizes.low, sizes.high]
    run.xla = xla_compiles(args.xla)
    run.strategy = {"name": args.strategy, "class": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync}
    run.versions = package_versions()
    run.source = source_revision()
    run.devices = [device.name for device in tf.config.list_logical_devices()]
    run.training_precision = policy
    planned = run.planned_epochs
    run.first_scored_epoch = epoch_end.first_scored_epoch(args.score_from, run.epochs, SCHEDULES[run.schedule], planned)


def build_session(
    run: RunConfig, data: TrainingData, strategy, resume_dir: Path | None, log: Log, init: str | None = None
) -> Session:
    """The datasets, and the model with its loop and schedule: new (with the weights of the model folder init,
    where given), or the checkpoint's in resume_dir."""
    keras.utils.set_random_seed(run.seed + run.trained_epochs)
    images, targets = prepare_for_training(data.train, run.boundary_width)
    val_images, val_targets = prepare_for_training(data.val, run.boundary_width)
    train_data = distributed_training_data(
        strategy, images, targets, data.sample_indices, run.img_size, run.batch_size,
        run.seed + run.trained_epochs, run.augmentation,
    )  # fmt: skip
    val_data = validation_dataset(val_images, val_targets, run.img_size, run.batch_size, run.seed)
    schedule_class = SCHEDULES[run.schedule]
    with strategy.scope():
        if resume_dir:
            log(f"resuming from epoch {run.trained_epochs}")
            model = load_model_file(resume_dir / CHECKPOINT)
            run.training_precision = compute_precision_of(model)
        else:
            model = build_unet(DEFAULT_FILTERS, output_channels=len(run.target_channels))
            if init:
                log(f"starting from the weights of {init} (--init)")
                start_from(model, Path(init) / "model.keras")
            learning_rate = schedule_class.optimizer_learning_rate(run.learning_rate, run.epochs * run.steps_per_epoch)
            compile_unet(model, new_adam(learning_rate))
        loop = TrainLoop(model, model.optimizer, strategy, jit_compile=run.xla, contact_weight=run.contact_weight)
    schedule = schedule_class(model.optimizer, state=run.schedule_state or None)
    return Session(model, loop, schedule, iter(train_data), val_data)


def start_from(model: keras.Model, path: Path) -> None:
    """Give model the weights of the saved model at path; UserError naming it when they do not fit."""
    try:
        model.set_weights(load_model_file(path).get_weights())
    except ValueError as error:
        raise UserError(f"--init: the weights of {path} do not fit this run's U-Net ({error})") from None


def epoch_duties(
    run: RunConfig,
    args: Any,
    session: Session,
    data: TrainingData,
    history: list[dict],
    writer: ModelFolderWriter | None,
    budget: TimeBudget | None,
    score: Callable[[keras.Model, list], float],
    log: Log,
) -> list[Callable]:
    """The duties that end every epoch, in order (nuclei.training.epoch_end)."""
    duties = [
        epoch_end.ValidationScoring(lambda: score(session.model, data.val), budget, log),
        epoch_end.LearningRateStep(session.schedule),
        epoch_end.HistoryRecord(history, log),
    ]
    if budget:
        duties.append(
            epoch_end.TimeLimit(
                budget, session.schedule, run.epochs, args.score_from, run.steps_per_epoch, args.time_limit, log
            )
        )
    if writer:
        duties.append(epoch_end.Checkpoint(writer.work_dir, session.model, history))
    if args.patience:
        duties.append(epoch_end.EarlyStopping(args.patience, log))
    return duties


def fit(
    session: Session, run: RunConfig, duties: list[Callable], writer: ModelFolderWriter | None, progress: bool, log: Log
) -> None:
    """Train epoch after epoch until the run's planned epochs are done or a duty stops it.

    SIGTERM stops it as Ctrl-C does: after saying how many epochs the working folder keeps.
    """
    epoch = run.trained_epochs
    try:
        with sigterm_as_interrupt():
            while epoch < run.planned_epochs:
                started = time.perf_counter()
                log(f"Epoch {epoch + 1}/{run.planned_epochs}")
                logs = session.loop.run_epoch(session.iterator, run.steps_per_epoch, progress=progress)
                logs.update(session.loop.evaluate(session.val_data))
                end = epoch_end.EpochEnd(epoch, logs, started)
                if any([duty(end, run) for duty in duties]):
                    break
                epoch += 1
    except KeyboardInterrupt:
        if writer:
            kept = finished_epochs(writer.work_dir)
            log(f"stopped after {kept} finished epoch(s), kept in {writer.work_dir}; continue with --resume")
        raise


def finish(
    run: RunConfig, model, data: TrainingData, history: list[dict], writer: ModelFolderWriter, started: float, log: Log
) -> Path:
    """Keep the best epoch in float32, write the validation report, the figures and config.json, and commit."""
    work_dir = writer.work_dir
    model = best_epoch_model(model, run, history, work_dir, log)
    run.validation = write_report(model, data.val, data.val_types, work_dir, log=log)
    run.finished = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    run.run_seconds = round(time.monotonic() - started, 1)
    atomic_save(work_dir / "model.keras", model.save)
    plot_history(work_dir / "history.csv", work_dir / "training_curves.png")
    run.save(work_dir / "config.json")
    remove_checkpoint(work_dir, run)
    writer.commit()
    if data.skipped:
        log(
            f"skipped {len(data.skipped)} image(s) with bad data: "
            + ", ".join(image_id for image_id, _ in data.skipped)
        )
    log(f"model folder written: {writer.out_dir}")
    return writer.out_dir


def best_epoch_model(model, run: RunConfig, history: list[dict], work_dir: Path, log: Log):
    """The model with the best-scoring epoch's weights, computing in float32, not compiled: the folder keeps
    the network, not Adam's two running moments of each weight (which would triple model.keras); a
    fine-tuning compiles its own. The checkpoint keeps them for --resume."""
    if run.best_epoch and history and run.best_epoch != history[-1]["epoch"] + 1:
        model.load_weights(work_dir / BEST_WEIGHTS.format(run.best_epoch))
        last_score = history[-1].get("val_score", float("nan"))
        last = f"; the last epoch: {last_score:.3f}" if math.isfinite(last_score) else ""
        log(f"keeping epoch {run.best_epoch}, the best validation score ({run.best_score:.3f}{last})")
    return float32_copy(model)


def compute_precision_of(model: keras.Model) -> str:
    """The dtype policy a model's convolutions compute in: a checkpoint keeps its own, whatever the command line."""
    return next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)).dtype_policy.name


def _is_terminal() -> bool:
    return sys.stdout.isatty()


def _silent(_text: str) -> None:
    pass
