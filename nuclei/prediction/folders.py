"""Predicting DSB folders: labelled ones scored per image and per type, test ones into submissions.

Usage::

    generate(args)       # what generate_predictions.py does with its parsed arguments

Per image, ``<folder>/<id>/predict/`` gets the binary mask (0/255), the
16-bit labels and, when scored, ``dice_score.txt``. Nothing is ever written
into ``images/`` or ``masks/``.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nuclei.data.dsb import Sample, list_image_ids, without_known_bad
from nuclei.data.image_types import ImageTyper
from nuclei.data.inputs import Inputs
from nuclei.data.loading import load_samples
from nuclei.errors import UserError
from nuclei.evaluation.rle import labels_to_rles
from nuclei.evaluation.scores import format_summary, score_labels, summarise
from nuclei.files import atomic_write_csv, atomic_write_text, write_png
from nuclei.options import cache_dir_of
from nuclei.prediction.opening import OpenedModel, open_for_prediction
from nuclei.prediction.outputs import label_image_type, write_label_image
from nuclei.prediction.own_images import Settings, predict_images
from nuclei.prediction.scale import segment

Log = Callable[[str], None]

DEFAULT_TEST_FOLDERS = ("stage1_test", "stage2_test_final")
REPORT_COLUMNS = ("ImageId", "image_type", "dice", "score", "predicted_nuclei", "true_nuclei")


def write_prediction(folder: str | Path, image_id: str, labels: np.ndarray, dice_value: float | None = None) -> None:
    """The predict/ folder of one image: binary mask, labels (a 16-bit PNG; a 32-bit TIFF above 65,535 nuclei,
    which a PNG cannot hold) and, when scored, dice_score.txt."""
    predict_dir = Path(folder) / image_id / "predict"
    predict_dir.mkdir(exist_ok=True)
    write_png(predict_dir / f"{image_id}.png", ((labels > 0) * 255).astype(np.uint8))
    if label_image_type(labels) is np.uint16:
        write_png(predict_dir / f"{image_id}_labels.png", labels.astype(np.uint16))
    else:
        write_label_image(predict_dir / f"{image_id}_labels.tif", labels)
    if dice_value is not None:
        atomic_write_text(predict_dir / "dice_score.txt", f"{dice_value:.6f}\n")


def predicted_labels(opened: OpenedModel, samples: list[Sample], args: Any) -> Iterator[tuple[Sample, np.ndarray]]:
    """Yield (sample, label map) for each sample, predicting in batches at the scale args.diameter asks."""
    images = [sample.image for sample in samples]
    for scaled in segment(
        opened.model,
        images,
        opened.parameters,
        opened.trained_sizes,
        args.diameter,
        batch_size=args.batch_size,
        tta=opened.tta,
    ):
        yield samples[scaled.index], scaled.labels


def predict_labelled(opened: OpenedModel, folder: Path, typer: ImageTyper, args: Any, log: Log = print) -> list[dict]:
    """Predict, score and report the labelled images of folder; returns the report rows."""
    ids = without_known_bad(list_image_ids(folder), log=log)
    samples, skipped = load_samples(folder, ids, cache_dir=cache_dir_of(args))
    types = typer.types_of(samples)
    rows = []
    for (sample, labels), image_type in zip(predicted_labels(opened, samples, args), types):
        scores = score_labels(sample.labels, labels)
        write_prediction(folder, sample.image_id, labels, scores["dice"])
        rows.append({"ImageId": sample.image_id, "image_type": image_type, **scores})
    if not rows:
        raise UserError(f"no usable labelled images in {folder}")
    atomic_write_csv(
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
    for role, members in rows_by_role(rows, opened.config).items():
        log(format_summary(summarise(members, "score"), f"competition score, {role}"))
    log(f"wrote predict/ folders in {folder} and {args.report}")
    if skipped:
        log(f"skipped {len(skipped)} image(s): " + ", ".join(image_id for image_id, _ in skipped))
    return rows


def predict_test_set(opened: OpenedModel, folder: Path, args: Any, log: Log = print) -> Path:
    """Predict the images of an unlabelled folder; write predict/ folders and submission_<name>.csv."""
    ids = list_image_ids(folder)
    samples, skipped = load_samples(folder, ids, with_labels=False)
    submission_rows = []
    nuclei = 0
    for sample, labels in predicted_labels(opened, samples, args):
        write_prediction(folder, sample.image_id, labels)
        rles = labels_to_rles(labels) or [""]
        nuclei += int(labels.max())
        submission_rows.extend((sample.image_id, runs) for runs in rles)
    submission = Path(f"submission_{Path(folder).resolve().name}.csv")
    atomic_write_csv(submission, ("ImageId", "EncodedPixels"), submission_rows)
    log(f"{folder}: {len(samples)} images, {nuclei} nuclei; wrote {submission}")
    if skipped:
        log(f"skipped {len(skipped)} unreadable image(s): " + ", ".join(image_id for image_id, _ in skipped))
    return submission


def rows_by_role(rows: list[dict], config: dict[str, Any]) -> dict[str, list[dict]]:
    """Report rows by what the images were to the model: "images the model never saw", "validation images"
    and "training images (flattering)", from config.json's split; all rows as "all images" without one."""
    train_ids, val_ids = set(config.get("train_ids") or ()), set(config.get("val_ids") or ())
    if not train_ids:
        return {"all images": rows}
    roles = {}
    for row in rows:
        image_id = row["ImageId"]
        role = "training images (flattering)" if image_id in train_ids else "images the model never saw"
        role = "validation images" if image_id in val_ids else role
        roles.setdefault(role, []).append(row)
    return roles


class Folders(NamedTuple):
    """The folders a prediction run reads: the labelled one (None: none to score) and the test ones."""

    labelled: Path | None
    tests: list[Path]


def folders_to_predict(train: str | None, tests: list[str] | None, no_train: bool = False) -> Folders:
    """The labelled folder (--train, else stage1_train/ where it exists) and the test folders (--test, else
    those of DEFAULT_TEST_FOLDERS that exist); UserError for a folder named but missing, or none at all."""
    train_folder = Path(train or "stage1_train")
    if train and not train_folder.is_dir():
        raise UserError(f"labelled folder {train_folder} does not exist")
    for folder in tests or ():
        if not Path(folder).is_dir():
            raise UserError(f"test folder {folder} does not exist")
    test_folders = [Path(name) for name in tests or DEFAULT_TEST_FOLDERS if Path(name).is_dir()]
    if not train_folder.is_dir() and not test_folders:
        raise UserError(f"nothing to predict: {train_folder} does not exist and no test folder was found")
    return Folders(train_folder if train_folder.is_dir() and not no_train else None, test_folders)


def is_labelled(folder: Path) -> bool:
    """Whether every image folder of a DSB folder has a masks/ folder (then its predictions are scored)."""
    return all((Path(folder) / image_id / "masks").is_dir() for image_id in list_image_ids(folder))


def generate(args: Any, found: Inputs | None = None, log: Log = print) -> None:
    """Predict what --images found (found), else the labelled folder (scored) and the test folders
    (submissions) that args name or that exist."""
    if found is None:
        folders = folders_to_predict(args.train, args.test, args.no_train)
        labelled, tests = [folders.labelled] if folders.labelled else [], folders.tests
    else:
        labelled = [folder for folder in found.dsb_folders if is_labelled(folder)]
        tests = [folder for folder in found.dsb_folders if folder not in labelled]
    opened = open_for_prediction(args.model, args.img_size, args.tta, log, args.diameter, args.runtime)
    for folder in labelled:
        predict_labelled(opened, folder, ImageTyper(args.clusters, args.cluster_model), args, log)
    for folder in tests:
        predict_test_set(opened, folder, args, log)
    if found is not None:
        predict_own_images(opened, found, args, log)


def predict_own_images(opened: OpenedModel, found: Inputs, args: Any, log: Log = print) -> None:
    """The plain image files of found into args.out; then every name that gave nothing, and every file
    skipped, listed once more."""
    skipped = list(found.problems)
    if found.images:
        settings = Settings(args.channel, args.diameter, args.batch_size, args.save_probabilities)
        outcome = predict_images(opened, found.images, Path(args.out), settings, log)
        skipped += outcome.skipped
        log(f"{outcome.images} image(s), {outcome.nuclei} nuclei: wrote {args.out}/ (NAME_labels.tif, "
            "NAME_outlines.png, NAME_rois.zip, nuclei.csv, images.csv)")  # fmt: skip
    if skipped:
        log(f"skipped {len(skipped)}:\n  " + "\n  ".join(skipped))
