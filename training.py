"""The training machinery that trainer.py and trainer_balanced_data.py share.

Usage (from a trainer script)::

    parser = training.make_parser(__doc__, default_out="my_model")
    args = parser.parse_args(argv)
    cli.run(lambda a: training.train(a, training.uniform_sampler), args)

A trainer is this machinery plus a *sampler*: a function from the image
types of the training images to the list of image indices drawn in one epoch
(an index may repeat). Everything else, from the split to the model folder,
is the same for both trainers.

Each epoch from --score-from on ends with the competition score of the
validation images; the folder keeps the best-scoring epoch's weights, and
--patience stops a run that has not improved for that many scored epochs.
"""

import csv
import datetime
import json
import platform
import signal
import sys
import time
from pathlib import Path

import numpy as np

import cli
import data_preprocessing as dp
import distribution
import evaluation
import model_folder
import safe_io
from image_types import ImageTyper, add_type_arguments
from time_budget import TimeBudget

CHECKPOINT = "checkpoint.keras"
CHECKPOINT_STATE = "checkpoint.json"
BEST_WEIGHTS = "best-epoch{}.weights.h5"
"""The weights of the best-scoring epoch so far, in the working folder, numbered from 1."""
CONTACT_WEIGHT = 5.0
"""How much more the cross-entropy counts where touching nuclei part, over 1 (--contact-weight):
the 18-epoch recipe scored 0.563 and 0.558 with it on two seeds, 0.555 and 0.545 without (README)."""
KEPT_ON_RESUME = {
    "schedule": ("schedule_name", "plateau"),
    "max_blur": ("max_blur", dp.ORIGINAL_MAX_BLUR_SIGMA),
    "contact_weight": ("contact_weight", 0.0),
    "boundary_width": ("boundary_width", 2),
}
"""Arguments a resumed run takes from its checkpoint state: {argument: (state key, value of checkpoints
written before the state recorded it)}. The split seed, whose older value is the seed, is kept apart."""


PRECISION_CHOICES = ("auto", "on", "off", "float16", "bfloat16")


def compute_policy(choice, gpu_visible, cpu_has_bfloat16):
    """The Keras dtype policy for a --mixed-precision choice: "float32", "mixed_float16" or "mixed_bfloat16".

    "on" takes this device's 16-bit type: float16 on a GPU, bfloat16 on a CPU.
    "auto" does so only where the hardware computes it natively (a GPU, or a
    CPU with bfloat16 instructions, where a training step took 0.84 of its
    float32 time and a whole run of the README's recipe about three quarters);
    elsewhere float32, since emulated 16-bit arithmetic is slower.
    """
    if choice == "off":
        return "float32"
    if choice in ("float16", "bfloat16"):
        return f"mixed_{choice}"
    if choice == "auto" and not (gpu_visible or cpu_has_bfloat16):
        return "float32"
    return "mixed_float16" if gpu_visible else "mixed_bfloat16"


def set_compute_policy(choice):
    """Set Keras's global dtype policy for a --mixed-precision choice on this machine; returns its name."""
    tf = cli.import_tensorflow()
    import keras

    policy = compute_policy(choice, bool(tf.config.list_physical_devices("GPU")), cli.cpu_has_bfloat16())
    keras.mixed_precision.set_global_policy(policy)
    return policy


def xla_compiles(choice):
    """Whether an --xla choice compiles the training step on this machine: auto only where a GPU is visible,
    as XLA's CPU step is several times slower than TensorFlow's (benchmarks/README.md)."""
    tf = cli.import_tensorflow()
    return cli.switch_is_on(choice, bool(tf.config.list_physical_devices("GPU")))


def new_adam(learning_rate):
    """Adam, with loss scaling when the global policy computes in float16, whose range loses small gradients."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate)
    if keras.mixed_precision.global_policy().compute_dtype == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_parser(doc, default_out):
    """The trainers' shared command line: IMG_SIZE EPOCHS BATCH_SIZE LEARNING_RATE and options."""
    parser = cli.make_parser(doc)
    parser.add_argument(
        "img_size",
        metavar="IMG_SIZE",
        type=cli.image_size,
        help="side of the square training crops in pixels (a multiple of 16)",
    )
    parser.add_argument("epochs", metavar="EPOCHS", type=cli.positive_int("EPOCHS"), help="passes over the samples")
    parser.add_argument(
        "batch_size", metavar="BATCH_SIZE", type=cli.positive_int("BATCH_SIZE"), help="crops per step (global batch)"
    )
    parser.add_argument(
        "learning_rate", metavar="LEARNING_RATE", type=cli.positive_float("LEARNING_RATE"), help="Adam's step size"
    )
    parser.add_argument("--data", default="stage1_train", help="DSB folder of labelled training images")
    parser.add_argument("--out", default=default_out, help="model folder to write")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="fraction of image ids held out for validation (split before any augmentation)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="seed of the crops and weights, and of the split unless --split-seed"
    )
    parser.add_argument(
        "--split-seed",
        type=int,
        help="seed of the split alone, so that runs with another --seed are scored on the same images; unset: --seed",
    )
    parser.add_argument("--limit", type=cli.positive_int("--limit"), help="use only the first N image ids; unset: all")
    add_type_arguments(parser)
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run in OUT.partial")
    parser.add_argument(
        "--schedule",
        choices=("plateau", "cosine", "anneal"),
        default="plateau",
        help="learning rate: halved after 3 epochs without a lower validation loss; a cosine decay over the run; "
        "or constant, then a cosine decay over the last quarter of the run",
    )
    parser.add_argument(
        "--max-blur",
        type=cli.non_negative_float("--max-blur"),
        default=dp.MAX_BLUR_SIGMA,
        metavar="SIGMA",
        help="blur each training crop with a Gaussian of sigma drawn from 0 to SIGMA pixels; 0: never "
        "(the original used 3); --resume keeps the run's own",
    )
    parser.add_argument(
        "--contact-weight",
        type=cli.non_negative_float("--contact-weight"),
        default=CONTACT_WEIGHT,
        metavar="W",
        help="count the cross-entropy 1 + W times on pixels where touching nuclei part (the original U-Net's "
        "weight map); 0: every pixel alike; --resume keeps the run's own",
    )
    parser.add_argument(
        "--boundary-width",
        type=cli.positive_int("--boundary-width"),
        default=dp.BOUNDARY_WIDTH,
        metavar="PIXELS",
        help="width of the rim channel inside every nucleus, and of the band where touching nuclei part "
        "(--contact-weight); --resume keeps the run's own",
    )
    parser.add_argument(
        "--score-from",
        type=_epoch_or_auto,
        default="auto",
        metavar="EPOCH",
        help="first epoch (from 1) to end with the validation images' competition score, which picks the epoch "
        "kept (10-15 s an epoch for 60 images on 2 cores); earlier epochs log the validation loss alone; auto: "
        "the first epoch of the decay under --schedule anneal, else 1",
    )
    parser.add_argument(
        "--patience",
        type=cli.positive_int("--patience"),
        help="stop after this many epochs without a better validation score; unset: train all EPOCHS",
    )
    parser.add_argument(
        "--time-limit",
        type=cli.positive_float("--time-limit"),
        metavar="MINUTES",
        help="end the run, loading and the final tuning included, within MINUTES of wall time: after each epoch "
        "the epochs still to come are planned from the times measured so far, and where not all EPOCHS fit, "
        "--schedule anneal brings its decay forward (plateau and cosine stop where the time runs out); "
        "--score-from keeps its distance from the end; unset: train all EPOCHS",
    )
    parser.add_argument(
        "--steps-per-epoch",
        type=cli.positive_int("--steps-per-epoch"),
        help="training steps per epoch; unset: one pass over the epoch's samples",
    )
    dp.add_cache_arguments(parser)
    parser.add_argument(
        "--mixed-precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="compute in 16 bits, keeping float32 weights: float16 with loss scaling (GPUs), bfloat16 (CPUs with "
        "AVX-512 BF16 or AMX); on: the one for this device; auto: on where it is fast, float32 elsewhere; the "
        "saved model computes in float32",
    )
    cli.add_switch(parser, "--xla", "XLA-compiled training steps", "on when a GPU is visible")
    parser.add_argument(
        "--strategy",
        choices=distribution.STRATEGIES,
        default="auto",
        help="tf.distribute strategy: auto = mirrored over several GPUs; multiworker reads TF_CONFIG",
    )
    return parser


def _epoch_or_auto(text):
    return text if text == "auto" else cli.positive_int("--score-from")(text)


def check_args(parser, args):
    """Checks argparse cannot express; ends with parser.error (one line, exit 2)."""
    if not 0.0 < args.val_fraction < 1.0:
        parser.error(f"--val-fraction must lie between 0 and 1, got {args.val_fraction}")
    if args.score_from != "auto" and args.score_from > args.epochs:
        parser.error(f"--score-from {args.score_from} is after the last epoch, EPOCHS {args.epochs}")
    if args.time_limit and args.strategy == "multiworker":
        parser.error("--time-limit cannot be used with --strategy multiworker: each worker would plan its own epochs")


def first_scored_epoch(args, schedule_class, planned_epochs=None):
    """The first epoch (from 0) that ends with the validation score, as --score-from says, in a run planned to
    end after planned_epochs (EPOCHS, unless --time-limit shortened it): auto follows the schedule, and an
    epoch given keeps its distance from the end."""
    planned = args.epochs if planned_epochs is None else planned_epochs
    if args.score_from == "auto":
        return schedule_class.first_epoch_worth_scoring(planned)
    return max(args.score_from - 1 - (args.epochs - planned), 0)


def uniform_sampler(types):
    """Each training image once per epoch (the plain trainer)."""
    return list(range(len(types)))


def split_ids(ids, types, val_fraction, seed):
    """(train_ids, val_ids), split by image id before any augmentation, stratified by image type.

    Each type with at least two images puts round(val_fraction * count),
    but at least one, into validation, so every type gets a validation
    score. Both lists are sorted; neither is empty.
    """
    if len(ids) < 2:
        raise cli.UserError(f"need at least 2 labelled images to split into training and validation, got {len(ids)}")
    rng = np.random.default_rng(seed)
    val_ids = []
    for name in sorted(set(types)):
        members = [image_id for image_id, kind in zip(ids, types) if kind == name]
        if len(members) >= 2:
            count = min(max(1, round(len(members) * val_fraction)), len(members) - 1)
            val_ids.extend(rng.permutation(members)[:count].tolist())
    if not val_ids:
        val_ids = [ids[rng.integers(len(ids))]]
    chosen = set(val_ids)
    return sorted(i for i in ids if i not in chosen), sorted(val_ids)


def package_versions():
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def read_history(path, limit=None):
    """Rows of a history.csv as dicts of floats (epoch as int; NaN where empty), at most limit of them."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as stream:
        rows = [{key: float(value or "nan") for key, value in row.items()} for row in csv.DictReader(stream)]
    for row in rows:
        row["epoch"] = int(row["epoch"])
    return rows[:limit]


def write_history(path, rows):
    columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})
    safe_io.atomic_write_csv(path, columns, ([row.get(column, "") for column in columns] for row in rows))


def plot_history(history_csv, png_path):
    """training_curves.png: loss and each metric per epoch, training and validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = read_history(history_csv)
    if not rows:
        return
    epochs = [int(row["epoch"]) + 1 for row in rows]
    not_metrics = ("epoch", "learning_rate", "seconds")
    names = [name for name in rows[0] if name not in not_metrics and not name.startswith("val_")]
    names += [name for name in rows[0] if name.startswith("val_") and name[4:] not in rows[0]]
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names):
        if not name.startswith("val_"):
            axis.plot(epochs, [float(row[name]) for row in rows], "o-", color="C0", label="training")
        validation = name if name.startswith("val_") else f"val_{name}"
        if validation in rows[0]:
            values = [float(row[validation]) for row in rows]
            axis.plot(epochs, values, "s-", color="C1", label="validation")
        if name == "val_score":
            best = int(np.nanargmax(values))
            axis.plot(epochs[best], values[best], "*", color="C3", markersize=14, label="epoch kept")
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    safe_io.atomic_save(png_path, lambda path: figure.savefig(path, dpi=100, format="png"))
    plt.close(figure)


def epoch_validation_score(model, val_samples):
    """The competition score of the validation images, post-processing tuned on them, without flips.

    The yardstick of each epoch: the number the finished folder delivers
    (less the small gain of flip averaging), which the loss does not track.
    """
    from inference import predict_probabilities

    images = [sample.image for sample in val_samples]
    probabilities = [prediction for _, prediction in predict_probabilities(model, images, progress=False)]
    _, table = evaluation.tune_postprocessing(probabilities, [sample.labels for sample in val_samples])
    return table[0]["score"]


def validation_report(model, val_samples, val_types, work_dir, log=print):
    """Tune post-processing and test-time flips on the validation images; report Dice and score per image type.

    Writes postprocessing.json (the best parameters, whether flip averaging
    helped, and the whole table) and validation_report.json (one row per
    validation image and the per-type means) into work_dir, and returns the
    per-type summary.
    """
    import instances
    from inference import predict_with_and_without_flips

    images = [sample.image for sample in val_samples]
    truths = [sample.labels for sample in val_samples]
    plain, averaged = [None] * len(images), [None] * len(images)
    for index, plain_map, averaged_map in predict_with_and_without_flips(model, images, progress=False):
        plain[index], averaged[index] = plain_map, averaged_map
    scores, tuned = {}, {}
    for tta, probabilities in ((False, plain), (True, averaged)):
        best, table = evaluation.tune_postprocessing(probabilities, truths)
        scores[tta], tuned[tta] = table[0]["score"], (best, table, probabilities)
        log(f"validation score {'with' if tta else 'without'} flip averaging: {scores[tta]:.3f}")
    tta = scores[True] > scores[False]
    best, table, probabilities = tuned[tta]
    per_method = evaluation.best_per_method(table)
    for method, row in per_method.items():
        log(f"validation score with {method}: {row['score']:.3f}")
    safe_io.atomic_write_json(work_dir / "postprocessing.json", {"parameters": best, "tta": tta, "table": table})

    rows = []
    for sample, image_type, prediction in zip(val_samples, val_types, probabilities):
        labels = instances.label_nuclei(prediction, best)
        rows.append(
            {
                "ImageId": sample.image_id,
                "image_type": image_type,
                **evaluation.score_labels(sample.labels, labels),
            }
        )
    summary = {key: evaluation.summarise(rows, key) for key in ("dice", "score")}
    log(evaluation.format_summary(summary["dice"], "validation Dice"))
    log(evaluation.format_summary(summary["score"], "validation competition score"))
    safe_io.atomic_write_json(
        work_dir / "validation_report.json",
        {
            "postprocessing": best,
            "tta": tta,
            "score_without_tta": scores[False],
            "score_with_tta": scores[True],
            "best_per_method": per_method,
            "summary": summary,
            "images": rows,
        },
    )
    return summary


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _load_resume_state(work_dir):
    state_path = work_dir / CHECKPOINT_STATE
    if not (work_dir / CHECKPOINT).is_file() or not state_path.is_file():
        raise cli.UserError(f"nothing to resume: {work_dir} holds no finished epoch")
    return json.loads(state_path.read_text())


def save_checkpoint(work_dir, model, history, state):
    """The model (and its weights, if this epoch is the best so far), history.csv, then the state, each atomically.

    The state is written last, so a run killed at any moment resumes from an
    epoch whose model, history and best weights are all complete; the best
    weights the state no longer names are removed after it.
    """
    best_name = BEST_WEIGHTS.format(state["best"]["epoch"] + 1)
    if state["best"]["epoch"] == state["finished_epochs"] - 1:
        safe_io.atomic_save(work_dir / best_name, model.save_weights)
    safe_io.atomic_save(work_dir / CHECKPOINT, model.save)
    write_history(work_dir / "history.csv", history)
    safe_io.atomic_write_json(work_dir / CHECKPOINT_STATE, state)
    for stale in work_dir.glob(BEST_WEIGHTS.format("*")):
        if stale.name != best_name:
            stale.unlink()


def distributed_training_data(strategy, images, targets, sample_indices, args, seed):
    """A per-worker tf.data pipeline of the worker's share of sample_indices, repeated, with the global batch split."""
    import tensorflow as tf

    def dataset_fn(context):
        try:
            batch = context.get_per_replica_batch_size(args.batch_size)
        except ValueError:
            raise cli.UserError(
                f"BATCH_SIZE {args.batch_size} is not divisible by the {strategy.num_replicas_in_sync} replicas"
            ) from None
        share = sample_indices[context.input_pipeline_id :: context.num_input_pipelines]
        pipeline_seed = seed + 1000 * context.input_pipeline_id
        return dp.training_dataset(
            images, targets, share, args.img_size, batch, pipeline_seed, repeat=True, max_blur_sigma=args.max_blur
        )

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset_fn, options)


def _partition(samples, types, val_set):
    """((training samples, their types), (validation samples, their types)) by membership of val_set."""
    parts = {True: ([], []), False: ([], [])}
    for sample, kind in zip(samples, types):
        part = parts[sample.image_id in val_set]
        part[0].append(sample)
        part[1].append(kind)
    return parts[False], parts[True]


def _report_sampling(train_types, sample_indices, log):
    counts = {name: train_types.count(name) for name in sorted(set(train_types))}
    drawn = {name: sum(1 for i in sample_indices if train_types[i] == name) for name in counts}
    log("training images per type: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    log(f"samples per epoch: {len(sample_indices)} (" + ", ".join(f"{n} {c}" for n, c in drawn.items()) + ")")


def train(args, sampler, describe_sampling=None, log=print):
    """Train a U-Net as args say, drawing each epoch's images with sampler, and write the model folder.

    Under a multi-worker strategy every worker trains; only the chief logs
    and writes the model folder. --time-limit counts from here.
    """
    started = time.monotonic()
    budget = TimeBudget(args.time_limit * 60.0) if args.time_limit else None
    resume_state = None
    if args.resume:
        resume_state = _load_resume_state(model_folder.ModelFolderWriter.work_dir_of(args.out))
        ids, seed = resume_state["train_ids"] + resume_state["val_ids"], resume_state["seed"]
        for name, (key, older) in KEPT_ON_RESUME.items():
            setattr(args, name, resume_state.get(key, older))
        args.split_seed = resume_state.get("split_seed", seed)
    else:
        ids = dp.without_known_bad(dp.list_image_ids(args.data), log=log)
        ids = ids[: args.limit] if args.limit else ids
        seed = args.seed
        args.split_seed = seed if args.split_seed is None else args.split_seed
    strategy = distribution.make_strategy(args.strategy)
    chief = distribution.is_chief(strategy)
    if not chief:
        log = _silent
    samples, skipped = dp.load_samples(args.data, sorted(ids), progress=chief, cache_dir=dp.cache_dir_of(args))
    typer = ImageTyper(args.clusters, args.cluster_model)
    types = typer.types_of(samples)
    if typer.inferred:
        log(f"{len(typer.inferred)} image(s) not in {args.clusters} were typed with {args.cluster_model}")
    if resume_state:
        train_ids, val_ids = resume_state["train_ids"], resume_state["val_ids"]
    else:
        train_ids, val_ids = split_ids(
            [sample.image_id for sample in samples], types, args.val_fraction, args.split_seed
        )
    writer = model_folder.ModelFolderWriter(args.out, resume=bool(resume_state)) if chief else None
    (train_samples, train_types), (val_samples, val_types) = _partition(samples, types, set(val_ids))
    if not train_samples or not val_samples:
        raise cli.UserError(f"no usable labelled images left in {args.data} after skipping bad data")
    log(f"{len(train_samples)} training and {len(val_samples)} validation images from {args.data}")
    sample_indices = sampler(train_types)
    if not sample_indices:
        raise cli.UserError("the sampling draws no training image at all; check --multipliers")
    _report_sampling(train_types, sample_indices, log)

    tf = cli.import_tensorflow()
    import keras

    import trainer_functional as tfn
    from train_loop import SCHEDULES, TrainLoop

    schedule_class = SCHEDULES[args.schedule]
    jit_compile = xla_compiles(args.xla)
    previous_policy = keras.mixed_precision.global_policy()
    set_compute_policy(args.mixed_precision)
    finished_epochs = resume_state["finished_epochs"] if resume_state else 0
    keras.utils.set_random_seed(seed + finished_epochs)
    images, targets = dp.prepare_for_training(train_samples, args.boundary_width)
    val_images, val_targets = dp.prepare_for_training(val_samples, args.boundary_width)
    train_data = distributed_training_data(strategy, images, targets, sample_indices, args, seed + finished_epochs)
    val_data = dp.validation_dataset(val_images, val_targets, args.img_size, args.batch_size, seed)
    del val_images, val_targets
    steps_per_epoch = args.steps_per_epoch or -(-len(sample_indices) // args.batch_size)
    planned_epochs = min(args.epochs, resume_state.get("planned_epochs", args.epochs)) if resume_state else args.epochs
    score_from = first_scored_epoch(args, schedule_class, planned_epochs)

    config = {
        "script": Path(sys.argv[0]).name,
        "arguments": {key: value for key, value in vars(args).items()},
        "img_size": args.img_size,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "schedule": args.schedule,
        "max_blur_sigma": args.max_blur,
        "contact_weight": args.contact_weight,
        "boundary_width": args.boundary_width,
        "seed": seed,
        "split_seed": args.split_seed,
        "sampling": describe_sampling or {"method": "uniform"},
        "samples_per_epoch": len(sample_indices),
        "steps_per_epoch": steps_per_epoch,
        "train_ids": train_ids,
        "val_ids": val_ids,
        "skipped": [{"ImageId": image_id, "reason": reason} for image_id, reason in skipped],
        "target_channels": list(dp.TARGET_CHANNELS),
        "filters": list(tfn.DEFAULT_FILTERS),
        "xla": jit_compile,
        "strategy": {
            "name": args.strategy,
            "class": type(strategy).__name__,
            "replicas": strategy.num_replicas_in_sync,
        },
        "versions": package_versions(),
        "devices": [device.name for device in tf.config.list_logical_devices()],
    }
    with strategy.scope():
        if resume_state:
            log(f"resuming from epoch {finished_epochs}")
            model = model_folder.load_model_file(model_folder.ModelFolderWriter.work_dir_of(args.out) / CHECKPOINT)
        else:
            model = tfn.build_unet(tfn.DEFAULT_FILTERS, output_channels=len(dp.TARGET_CHANNELS))
            learning_rate = schedule_class.optimizer_learning_rate(args.learning_rate, args.epochs * steps_per_epoch)
            tfn.compile_unet(model, new_adam(learning_rate))
        loop = TrainLoop(model, model.optimizer, strategy, jit_compile=jit_compile, contact_weight=args.contact_weight)
    config["training_precision"] = model.get_layer("down1_conv1").dtype_policy.name
    log(f"compute precision: {config['training_precision']} (--mixed-precision)")
    schedule = schedule_class(model.optimizer, state=resume_state.get("schedule") if resume_state else None)
    history = read_history(writer.work_dir / "history.csv", limit=finished_epochs) if resume_state and writer else []
    best = (resume_state or {}).get("best", {"score": -1.0, "epoch": -1})
    iterator = iter(train_data)
    progress = chief and sys.stdout.isatty()
    previous_handler = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    if budget:
        budget.begin_epochs()
    try:
        epoch = finished_epochs
        while epoch < planned_epochs:
            epoch_started = time.perf_counter()
            log(f"Epoch {epoch + 1}/{planned_epochs}")
            logs = loop.run_epoch(iterator, steps_per_epoch, progress=progress)
            logs.update(loop.evaluate(val_data))
            scored = epoch >= score_from
            if scored or (budget and budget.scoring_seconds is None):
                scoring_started = time.perf_counter()
                score = epoch_validation_score(model, val_samples)
                if budget:
                    budget.record_scoring(time.perf_counter() - scoring_started)
                if scored:
                    logs["val_score"] = score
                else:
                    log(f"validation score {score:.3f}, measured once to plan --time-limit (the epoch is not kept)")
            logs["learning_rate"] = schedule.learning_rate
            schedule.update(logs["val_loss"])
            if scored and logs["val_score"] > best["score"]:
                best = {"score": logs["val_score"], "epoch": epoch}
            seconds = time.perf_counter() - epoch_started
            log(f"{seconds:.0f}s - " + " - ".join(f"{name}: {value:.4f}" for name, value in logs.items()))
            history.append({"epoch": epoch, **logs, "seconds": seconds})
            if budget:
                budget.end_epoch()
                planned_epochs, score_from = _plan_within_time_limit(
                    budget, args, schedule, epoch + 1, planned_epochs, steps_per_epoch, log
                )
            if writer:
                state = {
                    "seed": seed,
                    "split_seed": args.split_seed,
                    "train_ids": train_ids,
                    "val_ids": val_ids,
                    "finished_epochs": epoch + 1,
                    "planned_epochs": planned_epochs,
                    "schedule": schedule.state,
                    **{key: getattr(args, name) for name, (key, _) in KEPT_ON_RESUME.items()},
                    "best": best,
                }
                save_checkpoint(writer.work_dir, model, history, state)
            if args.patience and scored and epoch - best["epoch"] >= args.patience:
                best_epoch = best["epoch"] + 1
                log(f"stopping: no better validation score in the {args.patience} epochs after epoch {best_epoch}")
                break
            epoch += 1
    except KeyboardInterrupt:
        if writer:
            state_path = writer.work_dir / CHECKPOINT_STATE
            finished = json.loads(state_path.read_text())["finished_epochs"] if state_path.is_file() else 0
            log(f"stopped after {finished} finished epoch(s), kept in {writer.work_dir}; continue with --resume")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        keras.mixed_precision.set_global_policy(previous_policy)
    if not writer:
        return None
    work_dir = writer.work_dir
    if best["epoch"] >= 0 and best["epoch"] != history[-1]["epoch"]:
        model.load_weights(work_dir / BEST_WEIGHTS.format(best["epoch"] + 1))
        last_score = history[-1].get("val_score", float("nan"))
        last = f"; the last epoch: {last_score:.3f}" if np.isfinite(last_score) else ""
        log(f"keeping epoch {best['epoch'] + 1}, the best validation score ({best['score']:.3f}{last})")
    if config["training_precision"] != "float32":
        optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
        model = tfn.float32_copy(model)
        tfn.compile_unet(model, optimizer)
    summary = validation_report(model, val_samples, val_types, work_dir, log=log)
    config["first_scored_epoch"] = score_from + 1
    config["best_epoch"] = best["epoch"] + 1
    config["planned_epochs"] = planned_epochs
    config["trained_epochs"] = len(history)
    config["validation"] = summary
    config["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    config["run_seconds"] = round(time.monotonic() - started, 1)
    safe_io.atomic_save(work_dir / "model.keras", model.save)
    plot_history(work_dir / "history.csv", work_dir / "training_curves.png")
    safe_io.atomic_write_json(work_dir / "config.json", config)
    for leftover in (CHECKPOINT, CHECKPOINT_STATE, BEST_WEIGHTS.format(best["epoch"] + 1)):
        (work_dir / leftover).unlink(missing_ok=True)
    writer.commit()
    if skipped:
        log(f"skipped {len(skipped)} image(s) with bad data: " + ", ".join(image_id for image_id, _ in skipped))
    log(f"model folder written: {args.out}")
    return args.out


def _plan_within_time_limit(budget, args, schedule, finished, planned, steps_per_epoch, log):
    """The run's epochs planned anew from the time left, and its first scored epoch; logs a change of plan."""
    schedule_class = type(schedule)
    replanned = budget.plan(
        finished,
        args.epochs,
        lambda total: schedule.can_end_after(finished, total, planned),
        lambda total: first_scored_epoch(args, schedule_class, total),
    )
    if replanned != planned:
        timing = f"epochs of {budget.typical_epoch_seconds():.0f} s, scoring {budget.scoring_seconds:.0f} s"
        if replanned > finished:
            schedule.end_after(replanned, steps_per_epoch)
            log(f"--time-limit {args.time_limit:g} min: {replanned} of {args.epochs} epochs fit ({timing})")
        else:
            log(f"stopping: another epoch would not end within --time-limit {args.time_limit:g} min ({timing})")
    return replanned, first_scored_epoch(args, schedule_class, replanned)


def _silent(_text):
    pass
