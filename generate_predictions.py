"""Predict nuclei with a trained model folder, score them, and write masks and Kaggle submissions.

Usage::

    python generate_predictions.py IMG_SIZE [options]
    python generate_predictions.py 256
    python generate_predictions.py 256 --model my_model --tta on --test stage1_test

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

from nuclei import cli, options, runtime

DEFAULT_REPORT = "predictions_report.csv"


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("img_size", metavar="IMG_SIZE", type=cli.image_size, help="the size the model was trained at")
    model = parser.add_argument_group("model")
    model.add_argument("--model", help=options.MODEL_HELP)
    options.add_tta_option(model)
    options.add_diameter_option(model)
    model.add_argument("--batch-size", type=cli.positive_int("--batch-size"), default=8, help="images per batch")
    folders = parser.add_argument_group("images and outputs")
    folders.add_argument("--train", help="labelled DSB folder to predict and score (default: stage1_train)")
    folders.add_argument("--no-train", action="store_true", help="skip the labelled folder")
    folders.add_argument("--test", nargs="+", metavar="DIR", help="unlabelled folders to predict")
    folders.add_argument("--report", default=DEFAULT_REPORT, help="per-image report to write")
    options.add_cache_options(folders)
    options.add_type_options(folders)
    args = parser.parse_args(argv)
    options.check_diameter(parser, args)
    cli.run(generate, args)


def generate(args):
    from nuclei.prediction.folders import folders_to_predict

    folders_to_predict(args.train, args.test, args.no_train)
    runtime.import_tensorflow()
    from nuclei.prediction.folders import generate as predict_folders

    predict_folders(args)


if __name__ == "__main__":
    main()
