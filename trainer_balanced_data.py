"""Train the nuclei U-Net with the rare image types drawn more often, and save the model folder.

Usage::

    python trainer_balanced_data.py IMG_SIZE EPOCHS BATCH_SIZE LEARNING_RATE [options]
    python trainer_balanced_data.py 256 50 16 1e-3
    python trainer_balanced_data.py 256 50 16 1e-3 --multipliers fluorescence=1,histology=3,brightfield=20

Identical to trainer.py except for sampling: each epoch draws every training
image as many times as its type's multiplier (types from cluster_df.csv by
ImageId, or from filename.joblib for images it does not list), each draw a
fresh augmented crop. Writes ``my_balanced_model/`` (``--out``).
"""

import argparse

import cli
import training
from image_types import TYPE_NAMES

DEFAULT_MULTIPLIERS = "fluorescence=1,histology=3,brightfield=20"


def parse_multipliers(text):
    """{type: draws per epoch} from "fluorescence=1,histology=3,brightfield=20"; every type needed."""
    multipliers = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in TYPE_NAMES:
            raise argparse.ArgumentTypeError(f"unknown image type {name!r} in --multipliers")
        try:
            multipliers[name] = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--multipliers: {name} needs a whole number, got {value!r}") from None
        if multipliers[name] < 0:
            raise argparse.ArgumentTypeError(f"--multipliers: {name} must not be negative")
    missing = set(TYPE_NAMES) - set(multipliers)
    if missing:
        raise argparse.ArgumentTypeError(f"--multipliers lacks {', '.join(sorted(missing))}")
    return multipliers


def balanced_sampler(multipliers):
    """A sampler drawing image i multipliers[type of i] times per epoch."""

    def sample(types):
        return [index for index, name in enumerate(types) for _ in range(multipliers[name])]

    return sample


def main(argv=None):
    parser = training.make_parser(__doc__, default_out="my_balanced_model")
    parser.add_argument(
        "--multipliers",
        type=parse_multipliers,
        default=DEFAULT_MULTIPLIERS,
        help="draws per epoch of each image type",
    )
    args = parser.parse_args(argv)
    training.check_args(parser, args)
    sampling = {"method": "balanced", "multipliers": args.multipliers}
    cli.run(lambda parsed: training.train(parsed, balanced_sampler(parsed.multipliers), sampling), args)


if __name__ == "__main__":
    main()
