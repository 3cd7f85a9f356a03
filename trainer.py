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

import cli
import training


def main(argv=None):
    parser = training.make_parser(__doc__, default_out="my_model")
    args = parser.parse_args(argv)
    training.check_args(parser, args)
    cli.run(lambda parsed: training.train(parsed, training.uniform_sampler), args)


if __name__ == "__main__":
    main()
