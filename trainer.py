"""Train the nuclei U-Net and save the model folder.

Usage::

    python trainer.py IMG_SIZE EPOCHS BATCH_SIZE LEARNING_RATE [options]
    python trainer.py 256 50 16 1e-3
    python trainer.py 256 50 16 1e-3 --data path/to/stage1_train --out my_model

Reads the labelled images of ``stage1_train/`` (``--data``), leaves out the
image with a known-bad mask, splits by image id into training and validation,
trains on augmented IMG_SIZE crops drawn anew every epoch, tunes the
post-processing on the validation images and writes ``my_model/`` (``--out``).
Every training image is drawn once per epoch; trainer_balanced_data.py draws
the rare image types more often.
"""

import time
from pathlib import Path

from nuclei import cli, runtime
from nuclei.training import arguments
from nuclei.training.sampling import uniform_sampler


def main(argv=None):
    args = arguments.parse(arguments.make_parser(__doc__, default_out="my_model"), argv)
    cli.run(train, args)


def train(args):
    started = time.monotonic()
    arguments.check_inputs(args)
    runtime.import_tensorflow()
    from nuclei.training.run import train as run_training

    return run_training(args, uniform_sampler, {"method": "uniform"}, script=Path(__file__).name, started=started)


if __name__ == "__main__":
    main()
