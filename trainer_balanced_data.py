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

import time
from pathlib import Path

from nuclei import cli, runtime
from nuclei.training import arguments
from nuclei.training.sampling import DEFAULT_MULTIPLIERS, balanced_sampler, parse_multipliers


def main(argv=None):
    parser = arguments.make_parser(__doc__, default_out="my_balanced_model")
    parser.add_argument_group("sampling").add_argument(
        "--multipliers", type=parse_multipliers, default=DEFAULT_MULTIPLIERS, help="draws per epoch of each image type"
    )
    cli.run(train, arguments.parse(parser, argv))


def train(args):
    started = time.monotonic()
    arguments.check_inputs(args)
    runtime.import_tensorflow()
    from nuclei.training.run import train as run_training

    sampling = {"method": "balanced", "multipliers": args.multipliers}
    return run_training(args, balanced_sampler(args.multipliers), sampling, script=Path(__file__).name, started=started)


if __name__ == "__main__":
    main()
