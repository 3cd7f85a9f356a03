"""A model folder's validation score per image type, beside a threshold that learns nothing.

Usage::

    python benchmarks/baseline.py --model my_balanced_model
    python benchmarks/baseline.py --model my_balanced_model --data stage1_train --markdown

The baseline is the one the quality issue measured: Otsu's threshold on the grey
image (bright backgrounds inverted, as the network sees it) and connected
components. It is scored on the same validation images the folder's training
held out (its config.json), with the same metric, so the two rows compare
directly; the model row is read from the folder's validation_report.json.
"""

import json
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

import cli  # noqa: E402
import data_preprocessing as dp  # noqa: E402
import evaluation  # noqa: E402
import model_folder  # noqa: E402
from image_types import ImageTyper, add_type_arguments  # noqa: E402

TYPES = ("fluorescence", "histology", "brightfield")


def otsu_labels(image):
    """Nuclei of an RGB uint8 image without learning: Otsu's threshold of the normalised grey image, 8-connected."""
    import numpy as np
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    grey = dp.normalise_image(image).mean(axis=2)
    if grey.min() == grey.max():
        return np.zeros(grey.shape, dtype=np.int32)
    labels, _ = ndimage.label(grey > threshold_otsu(grey), structure=np.ones((3, 3)))
    return labels


def baseline_summary(folder, val_ids, typer):
    samples, _ = dp.load_samples(folder, val_ids, progress=False, cache_dir=None)
    if not samples:
        raise cli.UserError(f"none of the validation images of the model folder are in {folder}")
    rows = [
        {"image_type": image_type, **evaluation.score_labels(sample.labels, otsu_labels(sample.image))}
        for sample, image_type in zip(samples, typer.types_of(samples))
    ]
    return evaluation.summarise(rows, "score")


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
    config = model_folder.read_config(model_dir)
    report_path = model_dir / "validation_report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        model_summary = {key: tuple(value) for key, value in report["summary"]["score"].items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise cli.UserError(f"cannot read the validation scores in {report_path}: {error}") from None
    if not Path(args.data).is_dir():
        raise cli.UserError(f"data folder {args.data} does not exist")
    typer = ImageTyper(args.clusters, args.cluster_model)
    baseline = baseline_summary(args.data, config["val_ids"], typer)
    rows = [("Otsu + connected components", baseline), (model_dir.name, model_summary)]
    for line in table_lines(rows, args.markdown):
        log(line)


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("--model", default="my_balanced_model", help="model folder whose validation images to use")
    parser.add_argument("--data", default="stage1_train", help="labelled DSB folder the model was trained from")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    add_type_arguments(parser)
    args = parser.parse_args(argv)
    cli.run(compare, args)


if __name__ == "__main__":
    main()
