"""Score a model folder on labelled DSB-layout folders: the competition score per set and per group.

Usage::

    python benchmarks/score_model.py MODEL_DIR DATA_DIR [DATA_DIR ...]
    python benchmarks/score_model.py my_balanced_model stage1_train_fixed ood_dev
    python benchmarks/score_model.py my_balanced_model ood_dev --diameter off --min-confidence 0

Each folder is a set. A folder that holds the images the model was trained
on is scored on the model's validation images alone (config.json's
``val_ids``), unless --all-images. Images are grouped by the name their ids
share before a trailing ``_NN`` (``fluo_nih3t3_01`` is in ``fluo_nih3t3``),
else by image type (fluorescence, histology, bright-field), so that
``ood_dev`` gives one row per source and the DSB folders one per type.

Prediction is generate_predictions.py's: the folder's tuned post-processing
(--min-confidence overrides its filter), its flip averaging (--tta), and
its nucleus-size matching (--diameter). Prints a Markdown table; --report
writes one row per image.
"""

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from nuclei import cli, options, runtime

GROUPED_ID = re.compile(r"^(?P<group>.+)_\d+$")


def make_parser() -> argparse.ArgumentParser:
    parser = cli.make_parser(__doc__)
    parser.add_argument("model", metavar="MODEL_DIR", help="model folder to score")
    parser.add_argument("folders", metavar="DATA_DIR", nargs="+", help="labelled DSB-layout folders, one set each")
    prediction = parser.add_argument_group("prediction")
    options.add_tta_option(prediction)
    options.add_diameter_option(prediction)
    options.add_runtime_option(prediction)
    prediction.add_argument(
        "--min-confidence", type=float, help="drop nuclei of a lower mean probability; unset: the folder's own"
    )
    prediction.add_argument("--batch-size", type=cli.positive_int("--batch-size"), default=4, help="images per batch")
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument("--all-images", action="store_true", help="score a model's training images too")
    scoring.add_argument("--report", help="CSV to write, one row per image")
    options.add_type_options(scoring)
    return parser


def group_of(image_id: str, image_type: str) -> str:
    """The id's prefix before a trailing _NN, else the image type."""
    match = GROUPED_ID.match(image_id)
    return match["group"] if match else image_type


def images_to_score(folder: Path, config: dict, all_images: bool) -> list[str]:
    """The folder's image ids, less the model's training images unless all_images."""
    from nuclei.data.dsb import list_image_ids, without_known_bad

    ids = without_known_bad(list_image_ids(folder), log=lambda text: None)
    trained = set(config.get("train_ids") or ())
    if all_images or not trained & set(ids):
        return ids
    validation = set(config.get("val_ids") or ())
    return [image_id for image_id in ids if image_id in validation]


def score_folder(opened, trained, folder: Path, args) -> list[dict]:
    """One row per scored image of folder: set, group, id, score, Dice, counts and the resize factor."""
    from nuclei.data.image_types import ImageTyper
    from nuclei.data.loading import load_samples
    from nuclei.evaluation.scores import score_labels
    from nuclei.prediction.scale import segment

    ids = images_to_score(folder, opened.config, args.all_images)
    samples, _ = load_samples(folder, ids, progress=False)
    types = ImageTyper(args.clusters, args.cluster_model).types_of(samples)
    images = [sample.image for sample in samples]
    rows = []
    for index, labels, factor, _ in segment(
        opened.model, images, opened.parameters, trained, args.diameter, args.batch_size, opened.tta
    ):
        sample = samples[index]
        group = group_of(sample.image_id, types[index])
        scores = score_labels(sample.labels, labels)
        rows.append({"set": folder.name, "group": group, "ImageId": sample.image_id, "factor": factor, **scores})
    return rows


def table(rows: list[dict]) -> str:
    """Markdown table: per set, its overall mean and each group's (images, competition score, Dice)."""
    lines = ["| set | group | images | score | Dice | mean resize |", "|---|---|---|---|---|---|"]
    for name in dict.fromkeys(row["set"] for row in rows):
        members = [row for row in rows if row["set"] == name]
        groups = sorted({row["group"] for row in members})
        for group in ["all", *groups]:
            chosen = [row for row in members if group in ("all", row["group"])]
            score = np.mean([row["score"] for row in chosen])
            dice = np.mean([row["dice"] for row in chosen])
            factor = np.exp(np.mean([np.log(row["factor"]) for row in chosen]))
            lines.append(f"| {name} | {group} | {len(chosen)} | {score:.3f} | {dice:.3f} | {factor:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = make_parser()
    args = parser.parse_args(argv)
    options.check_diameter(parser, args)
    for folder in args.folders:
        if not Path(folder).is_dir():
            parser.error(f"{folder} is not a folder")
    runtime.import_tensorflow()
    cli.run(score, args)


def score(args) -> None:
    from nuclei.errors import UserError
    from nuclei.files import atomic_write_csv
    from nuclei.prediction.opening import open_for_prediction

    opened = open_for_prediction(
        args.model, None, args.tta, log=lambda text: print(text, file=sys.stderr), runtime=args.runtime
    )
    if args.min_confidence is not None:
        opened.parameters["min_confidence"] = args.min_confidence
    trained = opened.trained_sizes
    started = time.perf_counter()
    rows = [row for folder in args.folders for row in score_folder(opened, trained, Path(folder), args)]
    if not rows:
        raise UserError("no image was scored: the folders hold no usable labelled images (or only training images)")
    print(f"{args.model}: post-processing {opened.parameters}, flips {opened.tta}, diameter {args.diameter} "
          f"(trained on {trained}), {time.perf_counter() - started:.0f} s")  # fmt: skip
    print(table(rows))
    if args.report:
        columns = list(rows[0])
        atomic_write_csv(args.report, columns, ([row[column] for column in columns] for row in rows))


if __name__ == "__main__":
    main()
