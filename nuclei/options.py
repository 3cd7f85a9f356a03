"""Command-line options that several scripts share, each defined once.

Usage::

    options.add_cache_options(parser)
    ...
    load_samples(folder, ids, cache_dir=options.cache_dir_of(args))
"""

import argparse
from typing import Any

from nuclei.cli import add_switch
from nuclei.data.cache import DEFAULT_CACHE_DIR
from nuclei.data.image_types import DEFAULT_CLUSTER_MODEL, DEFAULT_CLUSTER_TABLE

MODEL_HELP = (
    "model folder (default: my_balanced_model or my_model in the current folder, else the suite's models/dsb2018)"
)


def add_cache_options(parser: Any) -> None:
    """--cache DIR and --no-cache, for the scripts that read a labelled folder."""
    parser.add_argument("--cache", default=DEFAULT_CACHE_DIR, help="folder for the decoded-image cache")
    parser.add_argument("--no-cache", action="store_true", help="decode the PNGs every time, keep no cache")


def cache_dir_of(args: argparse.Namespace) -> str | None:
    """The cache folder that --cache and --no-cache ask for, or None."""
    return None if args.no_cache else args.cache


def add_type_options(parser: Any) -> None:
    """The --clusters and --cluster-model options of every script that needs image types."""
    parser.add_argument("--clusters", default=str(DEFAULT_CLUSTER_TABLE), help="image-type table")
    parser.add_argument("--cluster-model", default=str(DEFAULT_CLUSTER_MODEL), help="fitted K-means model")


def add_diameter_option(parser: Any) -> None:
    """The prediction scripts' --diameter option; read its value with diameter_of."""
    parser.add_argument(
        "--diameter",
        default="auto",
        metavar="PIXELS",
        help="typical nucleus diameter in the images, in pixels: images are resized so that their nuclei match "
        "the size the model was trained on; auto: estimated per image; off: predict at the images' own size",
    )


def diameter_of(text: str) -> float | str | None:
    """--diameter's value: a positive number of pixels, "auto", or None for off; ValueError otherwise."""
    if text in ("auto", "off"):
        return None if text == "off" else text
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.0 < value < float("inf"):
        raise ValueError(f"--diameter must be auto, off or a positive number of pixels, got {text!r}")
    return value


def check_diameter(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Replace args.diameter by diameter_of's value; parser.error (one line, exit 2) if it is nonsense."""
    try:
        args.diameter = diameter_of(args.diameter)
    except ValueError as error:
        parser.error(str(error))


def add_tta_option(parser: Any) -> None:
    """The prediction scripts' --tta option, read by nuclei.prediction.opening.open_for_prediction."""
    add_switch(
        parser, "--tta", "average over horizontal and vertical flips", "if it scored better on the validation images"
    )


RUNTIMES = ("auto", "tensorflow", "openvino", "onnx")
"""The engines that can run the network at prediction (nuclei.prediction.runtimes)."""


def add_runtime_option(parser: Any) -> None:
    """The prediction scripts' --runtime option, read by nuclei.prediction.opening.open_for_prediction."""
    parser.add_argument(
        "--runtime", choices=RUNTIMES, default="auto",
        help="engine that runs the network; auto: OpenVINO where installed and no GPU is visible, else TensorFlow",
    )  # fmt: skip
