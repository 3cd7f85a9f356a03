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

from pathlib import Path

import numpy as np

import cli
import data_preprocessing as dp
import evaluation
import instances
import model_folder
import safe_io
from competition_metric import labels_to_rles
from image_types import ImageTyper, add_type_arguments

DEFAULT_TEST_FOLDERS = ("stage1_test", "stage2_test_final")
REPORT_COLUMNS = ("ImageId", "image_type", "dice", "score", "predicted_nuclei", "true_nuclei")


def write_prediction(folder, image_id, labels, dice_value=None):
    """The predict/ folder of one image: binary mask, 16-bit labels and, when scored, dice_score.txt."""
    predict_dir = Path(folder) / image_id / "predict"
    predict_dir.mkdir(exist_ok=True)
    safe_io.write_png(predict_dir / f"{image_id}.png", ((labels > 0) * 255).astype(np.uint8))
    safe_io.write_png(predict_dir / f"{image_id}_labels.png", labels.astype(np.uint16))
    if dice_value is not None:
        safe_io.atomic_write_text(predict_dir / "dice_score.txt", f"{dice_value:.6f}\n")


def predicted_labels(model, samples, parameters, batch_size, tta):
    """Yield (sample, label map) for each sample, predicting in batches."""
    from inference import predict_probabilities

    images = [sample.image for sample in samples]
    for index, probabilities in predict_probabilities(model, images, batch_size=batch_size, tta=tta):
        yield samples[index], instances.label_nuclei(probabilities, parameters)


def predict_labelled(model, folder, parameters, typer, args, log=print):
    """Predict, score and report the labelled images of folder; returns the report rows."""
    ids = dp.without_known_bad(dp.list_image_ids(folder), log=log)
    samples, skipped = dp.load_samples(folder, ids, cache_dir=dp.cache_dir_of(args))
    types = typer.types_of(samples)
    rows = []
    for (sample, labels), image_type in zip(
        predicted_labels(model, samples, parameters, args.batch_size, args.tta), types
    ):
        scores = evaluation.score_labels(sample.labels, labels)
        write_prediction(folder, sample.image_id, labels, scores["dice"])
        rows.append({"ImageId": sample.image_id, "image_type": image_type, **scores})
    if not rows:
        raise cli.UserError(f"no usable labelled images in {folder}")
    safe_io.atomic_write_csv(
        args.report,
        REPORT_COLUMNS,
        (
            [row[key] if not isinstance(row[key], float) else f"{row[key]:.6f}" for key in REPORT_COLUMNS]
            for row in rows
        ),
    )
    dice_values = np.array([row["dice"] for row in rows])
    worst = rows[int(np.argmin(dice_values))]
    log(f"MEAN DICE {dice_values.mean():.4f}  MEDIAN DICE {np.median(dice_values):.4f}")
    log(f"MIN DICE {worst['dice']:.4f}  ID {worst['ImageId']}")
    log(evaluation.format_summary(evaluation.summarise(rows, "score"), "competition score"))
    log(f"wrote predict/ folders in {folder} and {args.report}")
    if skipped:
        log(f"skipped {len(skipped)} image(s): " + ", ".join(image_id for image_id, _ in skipped))
    return rows


def predict_test_set(model, folder, parameters, args, log=print):
    """Predict the images of an unlabelled folder; write predict/ folders and submission_<name>.csv."""
    ids = dp.list_image_ids(folder)
    samples, skipped = dp.load_samples(folder, ids, with_labels=False)
    submission_rows = []
    nuclei = 0
    for sample, labels in predicted_labels(model, samples, parameters, args.batch_size, args.tta):
        write_prediction(folder, sample.image_id, labels)
        rles = labels_to_rles(labels) or [""]
        nuclei += int(labels.max())
        submission_rows.extend((sample.image_id, runs) for runs in rles)
    submission = Path(f"submission_{Path(folder).resolve().name}.csv")
    safe_io.atomic_write_csv(submission, ("ImageId", "EncodedPixels"), submission_rows)
    log(f"{folder}: {len(samples)} images, {nuclei} nuclei; wrote {submission}")
    if skipped:
        log(f"skipped {len(skipped)} unreadable image(s): " + ", ".join(image_id for image_id, _ in skipped))
    return submission


def generate(args, log=print):
    train_folder = Path(args.train or "stage1_train")
    if args.train and not train_folder.is_dir():
        raise cli.UserError(f"labelled folder {train_folder} does not exist")
    test_folders = [Path(folder) for folder in args.test] if args.test else None
    if test_folders:
        for folder in test_folders:
            if not folder.is_dir():
                raise cli.UserError(f"test folder {folder} does not exist")
    else:
        test_folders = [Path(name) for name in DEFAULT_TEST_FOLDERS if Path(name).is_dir()]
    if not train_folder.is_dir() and not test_folders:
        raise cli.UserError(f"nothing to predict: {train_folder} does not exist and no test folder was found")
    model, parameters, args.tta, _ = model_folder.open_for_prediction(args.model, args.img_size, args.tta, log)
    if train_folder.is_dir() and not args.no_train:
        typer = ImageTyper(args.clusters, args.cluster_model)
        predict_labelled(model, train_folder, parameters, typer, args, log)
    for folder in test_folders:
        predict_test_set(model, folder, parameters, args, log)


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("img_size", metavar="IMG_SIZE", type=cli.image_size, help="the size the model was trained at")
    parser.add_argument("--model", help="model folder (default: my_balanced_model if present, else my_model)")
    parser.add_argument("--train", help="labelled DSB folder to predict and score (default: stage1_train)")
    parser.add_argument("--no-train", action="store_true", help="skip the labelled folder")
    parser.add_argument("--test", nargs="+", metavar="DIR", help="unlabelled folders to predict")
    parser.add_argument("--report", default="predictions_report.csv", help="per-image report to write")
    parser.add_argument("--batch-size", type=cli.positive_int("--batch-size"), default=8, help="images per batch")
    model_folder.add_tta_argument(parser)
    dp.add_cache_arguments(parser)
    add_type_arguments(parser)
    args = parser.parse_args(argv)
    cli.run(generate, args)


if __name__ == "__main__":
    main()
