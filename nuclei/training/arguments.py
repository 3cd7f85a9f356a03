"""The trainers' command line: IMG_SIZE EPOCHS BATCH_SIZE LEARNING_RATE, and options in groups.

Usage (from a trainer script)::

    parser = arguments.make_parser(__doc__, default_out="my_model")
    args = arguments.parse(parser, argv)

Parsing imports nothing heavy, so --help and argument errors are instant.
"""

import argparse
from collections.abc import Sequence

from nuclei import cli, options
from nuclei.data.annotations import BINARY_MASKS, open_labelled
from nuclei.data.augmentation import MAX_BLUR_SIGMA, SCALE_RANGE
from nuclei.data.targets import BOUNDARY_WIDTH
from nuclei.model.folder import ModelFolderWriter
from nuclei.training.checkpoint import load_checkpoint
from nuclei.training.distribution import STRATEGIES
from nuclei.training.parent import check_parent
from nuclei.training.precision import PRECISION_CHOICES

CONTACT_WEIGHT = 5.0
"""How much more the cross-entropy counts where touching nuclei part, over 1 (--contact-weight);
docs/quality-log.md compares it with 0."""


def make_parser(doc: str, default_out: str) -> argparse.ArgumentParser:
    """The trainers' shared command line, with the original's four positional arguments first."""
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
    _add_data_options(parser.add_argument_group("data and output"), default_out)
    _add_learning_options(parser.add_argument_group("what the network learns"))
    _add_schedule_options(parser.add_argument_group("schedule, scoring and stopping"))
    _add_hardware_options(parser.add_argument_group("hardware"))
    return parser


def _add_data_options(group, default_out):
    group.add_argument(
        "--data", default="stage1_train", help="folder of labelled images: the DSB layout, images/ + masks/ "
        "(label images of the same names), or Cellpose's NAME + NAME_masks; the layout is detected"
    )  # fmt: skip
    group.add_argument(
        "--binary-masks", choices=BINARY_MASKS, default="refuse",
        help="a mask of 0 and one value where label images were expected: refuse it (touching nuclei cannot be "
        "told apart), or label its connected pieces",
    )  # fmt: skip
    group.add_argument(
        "--channel", type=cli.positive_int("--channel"), metavar="N",
        help="the channel that holds the nuclei (1 = first) in multi-channel images of --data's own layouts",
    )  # fmt: skip
    group.add_argument(
        "--init", metavar="MODEL_DIR", help="start from the weights of this model folder (fine-tuning; "
        "models/dsb2018 is the suite's) instead of random ones; unset: random"
    )  # fmt: skip
    group.add_argument("--out", default=default_out, help="model folder to write")
    group.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="fraction of image ids held out for validation (split before any augmentation)",
    )
    group.add_argument(
        "--seed", type=int, default=42, help="seed of the crops and weights, and of the split unless --split-seed"
    )
    group.add_argument(
        "--split-seed",
        type=int,
        help="seed of the split alone, so that runs with another --seed are scored on the same images; unset: --seed",
    )
    group.add_argument("--limit", type=cli.positive_int("--limit"), help="use only the first N image ids; unset: all")
    options.add_type_options(group)
    options.add_cache_options(group)
    group.add_argument("--resume", action="store_true", help="continue the interrupted run in OUT.partial")


def _add_learning_options(group):
    group.add_argument(
        "--max-blur",
        type=cli.non_negative_float("--max-blur"),
        default=MAX_BLUR_SIGMA,
        metavar="SIGMA",
        help="blur each training crop with a Gaussian of sigma drawn from 0 to SIGMA pixels; 0: never "
        "(the original used 3); --resume keeps the run's own",
    )
    group.add_argument(
        "--zoom",
        type=cli.zoom_range,
        default=SCALE_RANGE,
        metavar="LOW,HIGH",
        help="zoom each training crop by a factor drawn log-uniformly from LOW to HIGH (above 1 enlarges), so "
        "that the network meets nuclei of more sizes than the data holds; --resume keeps the run's own",
    )
    group.add_argument(
        "--intensity-augmentation",
        choices=("on", "off"),
        default="on",
        help="vary each training crop's gamma, contrast, brightness, noise and colour (grey levels at times), so "
        "that dim, noisy or unstained-looking images are no surprise; --resume keeps the run's own",
    )
    group.add_argument(
        "--contact-weight",
        type=cli.non_negative_float("--contact-weight"),
        default=CONTACT_WEIGHT,
        metavar="W",
        help="count the cross-entropy 1 + W times on pixels where touching nuclei part (the original U-Net's "
        "weight map); 0: every pixel alike; --resume keeps the run's own",
    )
    group.add_argument(
        "--boundary-width",
        type=cli.positive_int("--boundary-width"),
        default=BOUNDARY_WIDTH,
        metavar="PIXELS",
        help="width of the rim channel inside every nucleus, and of the band where touching nuclei part "
        "(--contact-weight); --resume keeps the run's own",
    )
    group.add_argument(
        "--steps-per-epoch",
        type=cli.positive_int("--steps-per-epoch"),
        help="training steps per epoch; unset: one pass over the epoch's samples",
    )


def _add_schedule_options(group):
    group.add_argument(
        "--schedule",
        choices=("plateau", "cosine", "anneal"),
        default="anneal",
        help="learning rate: halved after 3 epochs without a lower validation loss; a cosine decay over the run; "
        "or constant, then a cosine decay over the last quarter of the run",
    )
    group.add_argument(
        "--score-from",
        type=_epoch_or_auto,
        default="auto",
        metavar="EPOCH",
        help="first epoch (from 1) to end with the validation images' competition score, which picks the epoch "
        "kept; earlier epochs log the validation loss alone, and take less time; auto: the first epoch of the "
        "decay under --schedule anneal, else 1",
    )
    group.add_argument(
        "--patience",
        type=cli.positive_int("--patience"),
        help="stop after this many epochs without a better validation score; unset: train all EPOCHS",
    )
    group.add_argument(
        "--time-limit",
        type=cli.positive_float("--time-limit"),
        metavar="MINUTES",
        help="end the run, loading and the final tuning included, within MINUTES of wall time: after each epoch "
        "the epochs still to come are planned from the times measured so far, and where not all EPOCHS fit, "
        "--schedule anneal brings its decay forward (plateau and cosine stop where the time runs out); "
        "--score-from keeps its distance from the end; unset: train all EPOCHS",
    )


def _add_hardware_options(group):
    group.add_argument(
        "--mixed-precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="compute in 16 bits, keeping float32 weights: float16 with loss scaling (GPUs), bfloat16 (CPUs with "
        "AVX-512 BF16 or AMX); on: the one for this device; auto: on where it is fast, float32 elsewhere; the "
        "saved model computes in float32",
    )
    cli.add_switch(group, "--xla", "XLA-compiled training steps", "on when a GPU is visible")
    group.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy: auto = mirrored over several GPUs; multiworker reads TF_CONFIG",
    )


def _epoch_or_auto(text):
    return text if text == "auto" else cli.positive_int("--score-from")(text)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse argv and check what argparse cannot express; a bad value ends with parser.error (one line, exit 2)."""
    args = parser.parse_args(argv)
    if not 0.0 < args.val_fraction < 1.0:
        parser.error(f"--val-fraction must lie between 0 and 1, got {args.val_fraction}")
    if args.score_from != "auto" and args.score_from > args.epochs:
        parser.error(f"--score-from {args.score_from} is after the last epoch, EPOCHS {args.epochs}")
    if args.time_limit and args.strategy == "multiworker":
        parser.error("--time-limit cannot be used with --strategy multiworker: each worker would plan its own epochs")
    return args


def check_inputs(args: argparse.Namespace) -> None:
    """UserError, before TensorFlow starts, when the data folder is missing or empty, or --resume finds no
    interrupted run: the checks that need no more than a look at the disk."""
    open_labelled(args.data, args.binary_masks, args.channel)
    if args.init:
        check_parent(args.init)
    if args.resume:
        load_checkpoint(ModelFolderWriter.work_dir_of(args.out))
