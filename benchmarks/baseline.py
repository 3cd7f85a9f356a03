"""A model folder's validation score per image type, beside a threshold that learns nothing and the original recipe.

Usage::

    python benchmarks/baseline.py --model my_balanced_model
    python benchmarks/baseline.py --model my_balanced_model --data stage1_train --markdown
    python benchmarks/baseline.py --model my_balanced_model --original-recipe --markdown

The baselines are the two the quality issue measured. Otsu's threshold on the
grey image (bright backgrounds inverted, as the network sees it) and connected
components. With --original-recipe, also the original recipe
(benchmarks/original_recipe.py: images squashed to squares, rotated copies,
cross-entropy, threshold 0.5, connected components), trained on the folder's
training images (about 20 minutes on 2 cores for 25 epochs of 540 images).
Both are scored on the same validation images the folder's training held out
(its config.json), with the same metric, so the rows compare directly; the
model row is read from the folder's validation_report.json.
"""

import json
import sys
import time
from pathlib import Path

from nuclei import cli, options, runtime
from nuclei.data.image_types import ImageTyper
from nuclei.data.loading import load_samples
from nuclei.data.normalisation import normalise_image
from nuclei.errors import UserError
from nuclei.evaluation.scores import score_labels, summarise
from nuclei.model.folder import read_config
from nuclei.training.precision import PRECISION_CHOICES, set_compute_policy
from original_recipe import OriginalRecipe, predict_labels, train_original

TYPES = ("fluorescence", "histology", "brightfield")


def otsu_labels(image):
    """Nuclei of an RGB uint8 image without learning: Otsu's threshold of the normalised grey image, 8-connected."""
    import numpy as np
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    grey = normalise_image(image).mean(axis=2)
    if grey.min() == grey.max():
        return np.zeros(grey.shape, dtype=np.int32)
    labels, _ = ndimage.label(grey > threshold_otsu(grey), structure=np.ones((3, 3)))
    return labels


SPLIT_KEYS = {"train_ids": "training images", "val_ids": "validation images"}


def load_recorded_samples(folder, config, key):
    """The labelled samples in folder of the ids a model folder's config.json lists under key (train_ids or
    val_ids); UserError if it lists none or none of them are there."""
    ids = config.get(key)
    if not isinstance(ids, list) or not ids:
        raise UserError(f"the model folder's config.json lists no {key}")
    samples, _ = load_samples(folder, ids, progress=False, cache_dir=None)
    if not samples:
        raise UserError(f"none of the {SPLIT_KEYS[key]} of the model folder are in {folder}")
    return samples


def score_summary(samples, types, segment):
    """Mean competition score overall and per image type of segment(image) -> label map."""
    rows = [
        {"image_type": image_type, **score_labels(sample.labels, segment(sample.image))}
        for sample, image_type in zip(samples, types)
    ]
    return summarise(rows, "score")


def original_recipe_summary(folder, config, val_samples, types, args, log=print):
    """Train the original recipe on the folder's training images and score it on val_samples."""
    runtime.init_devices()
    import keras

    train_samples = load_recorded_samples(folder, config, "train_ids")
    recipe = OriginalRecipe(size=args.original_size, epochs=args.original_epochs)
    keras.utils.set_random_seed(args.seed)
    policy = set_compute_policy(args.mixed_precision)
    log(
        f"original recipe: {len(train_samples)} images squashed to {recipe.size}, {recipe.copies} rotated copies "
        f"each, {recipe.epochs} epochs, computing in {policy}"
    )
    started = time.perf_counter()
    model = train_original(train_samples, recipe, seed=args.seed, verbose=1 if sys.stdout.isatty() else 2)
    log(f"original recipe trained in {(time.perf_counter() - started) / 60:.1f} min")
    return score_summary(val_samples, types, lambda image: predict_labels(model, image, recipe))


def table_lines(named_summaries, markdown):
    header = ["method", "images", "all", *TYPES]
    lines = []
    for name, summary in named_summaries:
        cells = [name, str(summary["all"][1]), f"{summary['all'][0]:.3f}"]
        for image_type in TYPES:
            mean, count = summary.get(image_type, (float("nan"), 0))
            cells.append(f"{mean:.3f} ({count})" if count else "-")
        lines.append(cells)
    if markdown:
        rows = [header, ["---"] * len(header), *lines]
        return ["| " + " | ".join(row) + " |" for row in rows]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in [header, *lines]]


def compare(args, log=print):
    model_dir = Path(args.model)
    config = read_config(model_dir)
    report_path = model_dir / "validation_report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        model_summary = {key: tuple(value) for key, value in report["summary"]["score"].items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"cannot read the validation scores in {report_path}: {error}") from None
    if not Path(args.data).is_dir():
        raise UserError(f"data folder {args.data} does not exist")
    typer = ImageTyper(args.clusters, args.cluster_model)
    val_samples = load_recorded_samples(args.data, config, "val_ids")
    types = typer.types_of(val_samples)
    rows = [("Otsu + connected components", score_summary(val_samples, types, otsu_labels))]
    if args.original_recipe:
        original = original_recipe_summary(args.data, config, val_samples, types, args, log=log)
        rows.append((f"original recipe, {args.original_epochs} epochs", original))
    rows.append((model_dir.name, model_summary))
    for line in table_lines(rows, args.markdown):
        log(line)


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("--model", default="my_balanced_model", help="model folder whose validation images to use")
    parser.add_argument("--data", default="stage1_train", help="labelled DSB folder the model was trained from")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--original-recipe", action="store_true", help="also train and score the original recipe (minutes)"
    )
    parser.add_argument(
        "--original-epochs", type=cli.positive_int("--original-epochs"), default=25, help="its training epochs"
    )
    parser.add_argument(
        "--original-size", type=cli.image_size, default=128, help="the square its images are resized to"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of its rotations, weights and shuffling")
    parser.add_argument(
        "--mixed-precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="its compute precision, as the trainers' option",
    )
    options.add_type_options(parser)
    args = parser.parse_args(argv)
    cli.run(compare, args)


if __name__ == "__main__":
    main()
