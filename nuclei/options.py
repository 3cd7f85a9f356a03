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

MODEL_HELP = "model folder (default: my_balanced_model if present, else my_model)"


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


def add_tta_option(parser: Any) -> None:
    """The prediction scripts' --tta option, read by nuclei.prediction.opening.open_for_prediction."""
    add_switch(
        parser, "--tta", "average over horizontal and vertical flips", "if it scored better on the validation images"
    )
