"""Predicting a lab's own images: any image files in; label images, outlines, ROIs and tables out.

Usage::

    outcome = predict_images(opened, found.images, Path("predictions"), Settings(channel=2))
    outcome.images, outcome.nuclei, outcome.skipped

Per image ``NAME.ext`` the output folder gets ``NAME_labels.tif``,
``NAME_outlines.png``, ``NAME_rois.zip`` (none without nuclei) and, on
request, ``NAME_probabilities.tif``; the folder gets ``nuclei.csv`` (a row
per nucleus) and ``images.csv`` (a row per image). Images are read,
predicted and written a batch at a time, so memory does not grow with their
number; the two tables appear when the last image is done.
"""

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np

from nuclei.data.inputs import check_output_folder, output_names
from nuclei.data.raw import intensity_plane, read_raw, to_rgb8
from nuclei.errors import DataError, UserError
from nuclei.files import atomic_open, atomic_save
from nuclei.prediction import outputs
from nuclei.prediction.opening import OpenedModel
from nuclei.prediction.scale import Scaled, segment

Log = Callable[[str], None]


class Settings(NamedTuple):
    """How to read and predict the images: the 1-based nuclear channel (None: the only one, or the colour
    picture), the nucleus diameter in pixels ("auto", None: as they are), images per batch, and whether to
    write the probability maps too."""

    channel: int | None = None
    diameter: float | str | None = "auto"
    batch_size: int = 8
    probabilities: bool = False


class Outcome(NamedTuple):
    """What a run did: images written, nuclei found, and one line per file skipped."""

    images: int
    nuclei: int
    skipped: list[str]


class Read(NamedTuple):
    """One input image: its file, output name, RGB uint8 pixels for the network, raw values to measure."""

    path: Path
    name: str
    image: np.ndarray
    intensity: np.ndarray


def read_input(path: Path, name: str, channel: int | None) -> Read:
    """The image at path ready to predict and measure; DataError naming it if it cannot be used."""
    raw = read_raw(path)
    return Read(path, name, to_rgb8(raw, channel, str(path)), intensity_plane(raw, channel, str(path)))


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _readable(paths: list[Path], names: dict[Path, str], channel, skipped: list[str], bar, log: Log):
    """The images that can be read, in order; each that cannot is one warning line and one entry in skipped."""
    for path in paths:
        try:
            yield read_input(path, names[path], channel)
        except DataError as error:
            log(f"warning: skipping {error}")
            skipped.append(str(error))
            bar.update(1)


def write_image_outputs(out_dir: Path, read: Read, scaled: Scaled, probabilities: bool) -> tuple:
    """The per-image files of one prediction; returns (its nuclei table, its images.csv row)."""
    outputs.write_label_image(out_dir / f"{read.name}_labels.tif", scaled.labels)
    outputs.write_outlines(out_dir / f"{read.name}_outlines.png", read.image, scaled.labels)
    outputs.write_rois(out_dir / f"{read.name}_rois.zip", scaled.labels)
    if probabilities:
        import tifffile

        maps = np.ascontiguousarray(np.moveaxis(scaled.probabilities, -1, 0), dtype=np.float32)
        path = out_dir / f"{read.name}_probabilities.tif"
        atomic_save(path, lambda temporary: tifffile.imwrite(temporary, maps, imagej=True, metadata={"axes": "CYX"}))
    table = outputs.measure(scaled.labels, read.intensity, read.name)
    return table, outputs.image_row(read.name, read.path, scaled.labels, scaled.factor)


def predict_images(opened: OpenedModel, paths: list[Path], out_dir: Path, settings: Settings, log: Log = print):
    """Predict every image file in paths and write the outputs into out_dir; returns an Outcome.
    UserError (and no tables) when none of them could be read."""
    import pandas as pd
    from tqdm import tqdm

    check_output_folder(out_dir, paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    names, skipped, done, nuclei = output_names(paths), [], 0, 0
    bar = tqdm(total=len(paths), desc="images", unit="img")
    with atomic_open(out_dir / "nuclei.csv") as nuclei_csv, atomic_open(out_dir / "images.csv") as images_csv:
        for batch in _batches(_readable(paths, names, settings.channel, skipped, bar, log), settings.batch_size):
            images = [read.image for read in batch]
            for scaled in segment(
                opened.model, images, opened.parameters, opened.trained_sizes, settings.diameter,
                settings.batch_size, opened.tta, progress=False,
            ):  # fmt: skip
                table, row = write_image_outputs(out_dir, batch[scaled.index], scaled, settings.probabilities)
                table.to_csv(nuclei_csv, header=done == 0, index=False)
                pd.DataFrame([row]).to_csv(images_csv, header=done == 0, index=False)
                done, nuclei = done + 1, nuclei + row["nuclei"]
                bar.update(1)
        bar.close()
        if not done:
            raise UserError(f"none of the {len(paths)} image file(s) could be read")
    return Outcome(done, nuclei, skipped)
