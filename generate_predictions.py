"""Predict nuclei with a trained model folder, score them, and write masks and Kaggle submissions.

Usage::

    python generate_predictions.py IMG_SIZE [options]
    python generate_predictions.py 256
    python generate_predictions.py 256 --model my_model --tta on --test stage1_test
    python generate_predictions.py 256 --images plate1/ "scans/*.tif" --out predictions --channel 2

Your own images (``--images``: files, folders, globs; PNG, TIFF, JPEG; 8-
or 16-bit, float; the nuclear channel chosen with ``--channel``): per image
``NAME.ext`` the output folder (``--out``) gets ``NAME_labels.tif`` (16-bit
labels, 32-bit above 65,535 nuclei), ``NAME_outlines.png`` and
``NAME_rois.zip`` (ImageJ ROIs); the folder gets ``nuclei.csv`` (one row
per nucleus: centroid, area, perimeter, diameter, shape, raw intensities;
pixels) and ``images.csv`` (one row per image). A file that cannot be read
is skipped with a warning and listed at the end. A DSB folder named by
``--images`` is predicted as below.

Labelled set (``stage1_train/``, ``--train``): for each image writes
``<id>/predict/<id>.png`` (predicted mask, 0/255, at the image's own size),
``<id>/predict/<id>_labels.png`` (16-bit nucleus labels) and
``<id>/predict/dice_score.txt``; then ``predictions_report.csv`` and a
summary of the Dice and the competition score, overall and per image type.

Test sets (``stage1_test/`` and ``stage2_test_final/`` where they exist,
or ``--test DIR ...``): the same predict folders, and
``submission_<folder name>.csv`` in the current directory, one
run-length-encoded row per nucleus.

IMG_SIZE is checked against the model folder's config.json, which wins.
Nothing is ever written into ``images/`` or ``masks/``.
"""

from pathlib import Path

from nuclei import cli, options, runtime

DEFAULT_REPORT = "predictions_report.csv"


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("img_size", metavar="IMG_SIZE", type=cli.image_size, help="the size the model was trained at")
    model = parser.add_argument_group("model")
    model.add_argument("--model", help=options.MODEL_HELP)
    options.add_tta_option(model)
    options.add_diameter_option(model)
    options.add_runtime_option(model)
    model.add_argument("--batch-size", type=cli.positive_int("--batch-size"), default=8, help="images per batch")
    own = parser.add_argument_group("your own images")
    own.add_argument(
        "--images", nargs="+", metavar="PATH", help="image files, folders or globs (DSB folders too) instead of "
        "the competition's folders below"
    )  # fmt: skip
    own.add_argument("--out", default="predictions", help="folder for the outputs of --images")
    own.add_argument(
        "--channel", type=cli.positive_int("--channel"), metavar="N",
        help="the channel that holds the nuclei (1 = first) in multi-channel images; unset: the only one, or the "
        "colour picture of an RGB image",
    )  # fmt: skip
    own.add_argument("--save-probabilities", action="store_true", help="also write NAME_probabilities.tif")
    folders = parser.add_argument_group("competition folders")
    folders.add_argument("--train", help="labelled DSB folder to predict and score (default: stage1_train)")
    folders.add_argument("--no-train", action="store_true", help="skip the labelled folder")
    folders.add_argument("--test", nargs="+", metavar="DIR", help="unlabelled folders to predict")
    folders.add_argument("--report", default=DEFAULT_REPORT, help="per-image report to write")
    options.add_cache_options(folders)
    options.add_type_options(folders)
    args = parser.parse_args(argv)
    options.check_diameter(parser, args)
    if args.images and (args.train or args.test):
        parser.error("--images takes DSB folders too: name them there instead of with --train or --test")
    cli.run(generate, args)


def generate(args):
    found = images_named(args) if args.images else None
    if found is None:
        from nuclei.prediction.folders import folders_to_predict

        folders_to_predict(args.train, args.test, args.no_train)
    runtime.import_tensorflow()
    from nuclei.prediction.folders import generate as predict_folders

    predict_folders(args, found)


def images_named(args):
    """What --images names, checked before TensorFlow starts; UserError when it holds nothing to predict."""
    from nuclei.data.inputs import check_output_folder, require_inputs

    found = require_inputs(args.images, exclude=args.out)
    check_output_folder(Path(args.out), found.images, args.images)
    return found


if __name__ == "__main__":
    main()
