"""Looking at what a model does: input, predicted nuclei and outlines, in OpenCV windows or figures.

Usage::

    show(args)           # what show_results.py does with its parsed arguments
    pictures, caption = panels(sample, predicted_labels)

The windows ``input``, ``predict`` (each predicted nucleus in its own
colour) and ``overlay`` (predicted outlines green, true ones magenta); any
key shows the next image, ``a`` quits. Without a display, the same panels
are written as PNG figures.
"""

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nuclei.data.dsb import Sample, list_image_ids, read_sample, without_known_bad
from nuclei.errors import DataError
from nuclei.evaluation.scores import score_labels
from nuclei.files import atomic_save
from nuclei.pictures import colour_labels, overlay
from nuclei.prediction.opening import OpenedModel, open_for_prediction
from nuclei.prediction.scale import segment

WINDOWS = ("input", "predict", "overlay")


def display_problem() -> str | None:
    """Why windows cannot be opened here, or None if they can."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set)"
    import cv2

    try:
        cv2.namedWindow("probe", cv2.WINDOW_NORMAL)
        cv2.destroyWindow("probe")
        cv2.waitKey(1)
    except cv2.error:
        return "this OpenCV has no window support"
    return None


def short_name(name: str) -> str:
    """A name short enough for a caption: the competition's 64-character ids cut to their first 12."""
    return name if len(name) <= 24 else name[:12]


def panels(sample: Sample, predicted: np.ndarray) -> tuple[dict[str, np.ndarray], str]:
    """{window name: RGB picture} and a caption for one predicted sample, scored where it has labels."""
    if sample.labels is None:
        caption = f"{short_name(sample.image_id)}  nuclei {int(predicted.max())}"
    else:
        scores = score_labels(sample.labels, predicted)
        caption = (
            f"{short_name(sample.image_id)}  Dice {scores['dice']:.3f}  score {scores['score']:.3f}  "
            f"nuclei {scores['predicted_nuclei']}/{scores['true_nuclei']}"
        )
    pictures = {
        "input": sample.image,
        "predict": colour_labels(predicted),
        "overlay": overlay(sample.image, predicted, sample.labels),
    }
    return pictures, caption


def save_figure(path: str | Path, sample: Sample, pictures: dict[str, np.ndarray], caption: str) -> None:
    """One PNG with the three panels side by side and the caption as title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = sample.image.shape[:2]
    figure, axes = plt.subplots(1, 3, figsize=(15, 5.4 * height / width + 0.6))
    titles = {
        "input": "input",
        "predict": "predicted nuclei",
        "overlay": "outlines: predicted green" + (", true magenta" if sample.labels is not None else ""),
    }
    for axis, name in zip(axes, WINDOWS):
        axis.imshow(pictures[name], interpolation="nearest")
        axis.set_title(titles[name])
        axis.axis("off")
    figure.suptitle(caption)
    figure.tight_layout()
    atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=100, format="png"))
    plt.close(figure)


def show_windows(pictures: dict[str, np.ndarray], caption: str, max_side: int) -> int:
    """Show the panels in OpenCV windows; returns the key pressed."""
    import cv2

    height, width = pictures["input"].shape[:2]
    scale = min(1.0, max_side / max(height, width))
    for name in WINDOWS:
        cv2.namedWindow(name, cv2.WINDOW_NORMAL)
        cv2.resizeWindow(name, int(width * scale), int(height * scale))
        picture = cv2.cvtColor(pictures[name], cv2.COLOR_RGB2BGR)
        if name == "overlay":
            cv2.putText(picture, caption, (5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.imshow(name, picture)
    cv2.setWindowTitle("overlay", f"overlay - {caption}")
    return cv2.waitKey(0) & 0xFF


def predict_one(opened: OpenedModel, image: np.ndarray, diameter: float | str | None) -> np.ndarray:
    """The label map of one RGB image, as generate_predictions.py would make it."""
    parameters, trained = opened.parameters, opened.trained_sizes
    (scaled,) = segment(opened.model, [image], parameters, trained, diameter, tta=opened.tta, progress=False)
    return scaled.labels


def read_for_viewing(folder: str | Path, image_id: str) -> Sample:
    """An image of a DSB folder with its labels where it has a masks/ folder, else without (nothing to score)."""
    return read_sample(folder, image_id, with_labels=(Path(folder) / image_id / "masks").is_dir())


class Viewable(NamedTuple):
    """One image the viewer can show: its name (figure file, caption) and how to read it as a Sample."""

    name: str
    read: Callable[[], Sample]


def viewables(args: Any) -> list[Viewable]:
    """The images args name: every image of args.data (a DSB folder), or what --images finds (files, folders,
    globs, DSB folders), read with the --channel asked for."""
    from nuclei.data.inputs import find_inputs, output_names
    from nuclei.data.raw import read_raw, to_rgb8

    def dsb_images(folder):
        ids = without_known_bad(list_image_ids(folder), log=lambda _: None)
        return [Viewable(image_id, partial(read_for_viewing, folder, image_id)) for image_id in ids]

    def plain_image(path, name):
        return Sample(name, to_rgb8(read_raw(path), args.channel, str(path)))

    if not getattr(args, "images", None):
        return dsb_images(args.data)
    found = find_inputs(args.images)
    entries = [entry for folder in found.dsb_folders for entry in dsb_images(folder)]
    names = output_names(found.images)
    return entries + [Viewable(names[path], partial(plain_image, path, names[path])) for path in found.images]


def show(args: Any, log: Callable[[str], None] = print) -> None:
    """Predict the images args name one at a time, in random order or as given (args.order), each once; show
    them in windows (until `a` or the last image) or write args.count figures. Labelled images are scored,
    unlabelled ones shown with their nucleus count."""
    entries = viewables(args)
    if getattr(args, "order", "random") == "random":
        entries = [entries[index] for index in np.random.default_rng(args.seed).permutation(len(entries))]
    problem = None if args.no_windows else display_problem()
    windows = problem is None and not args.no_windows
    save_dir = Path(args.save) if args.save else (None if windows else Path("results"))
    if problem:
        log(f"{problem}: writing {args.count} figure(s) to {save_dir}/ instead of opening windows")
    opened = open_for_prediction(args.model, args.img_size, args.tta, log, args.diameter, args.runtime)
    if save_dir:
        save_dir.mkdir(parents=True, exist_ok=True)
    shown = 0
    for entry in entries:
        if not windows and shown >= args.count:
            break
        try:
            sample = entry.read()
        except DataError as error:
            log(f"warning: skipping {error}")
            continue
        predicted = predict_one(opened, sample.image, args.diameter)
        pictures, caption = panels(sample, predicted)
        log(caption)
        if save_dir and shown < args.count:
            save_figure(save_dir / f"{entry.name}.png", sample, pictures, caption)
        shown += 1
        if windows and show_windows(pictures, caption, args.max_side) == ord("a"):
            break
    if windows:
        import cv2

        cv2.destroyAllWindows()
    if save_dir:
        log(f"wrote {min(shown, args.count)} figure(s) to {save_dir}")
