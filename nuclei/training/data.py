"""The images of a training run: listed, loaded, typed, split into training and validation, and drawn.

Usage::

    labelled = open_labelled("stage1_train")       # or image + label-image pairs, Cellpose's layout
    ids = image_ids_to_load(run, labelled, limit=None, log=print)
    data = load_training_data(run, labelled, ids, 0.1, sampler, typer, cache_dir="dsb_cache")
    data.train, data.train_types, data.val, data.val_types, data.sample_indices

A fresh run lists the folder (less the known-bad image, and --limit) and
splits it by image id, stratified by type; a resumed run loads exactly the
images of its saved split.
"""

from collections.abc import Callable
from dataclasses import dataclass

from nuclei.data.annotations import LabelledFolder
from nuclei.data.dsb import Sample, without_known_bad
from nuclei.data.image_types import ImageTyper
from nuclei.data.loading import load_samples
from nuclei.errors import UserError
from nuclei.training.config import RunConfig
from nuclei.training.sampling import Sampler, describe_draws
from nuclei.training.split import split_ids

FEW_VALIDATION_IMAGES = 5
"""Below this many validation images, a run says that its epoch choice and tuning are rough."""


@dataclass
class TrainingData:
    """A run's labelled images on each side of its split, their types, and one epoch's draws."""

    train: list[Sample]
    train_types: list[str]
    val: list[Sample]
    val_types: list[str]
    sample_indices: list[int]
    skipped: list[tuple[str, str]]

    @property
    def train_ids(self) -> list[str]:
        return [sample.image_id for sample in self.train]

    @property
    def val_ids(self) -> list[str]:
        return [sample.image_id for sample in self.val]


def image_ids_to_load(
    run: RunConfig, labelled: LabelledFolder, limit: int | None, log: Callable[[str], None]
) -> list[str]:
    """The sorted ids a run loads: its saved split when resumed, else the folder's, less the known-bad, limited."""
    if run.train_ids:
        return sorted(run.train_ids + run.val_ids)
    ids = without_known_bad(labelled.ids, log=log)
    return ids[:limit] if limit else ids


def load_training_data(
    run: RunConfig,
    labelled: LabelledFolder,
    ids: list[str],
    val_fraction: float,
    sampler: Sampler,
    typer: ImageTyper,
    cache_dir: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainingData:
    """Load and type the images of ids, split them (or keep the run's split) and draw an epoch's indices.
    Only the DSB layout is cached: a lab's few images decode in moments."""
    folder = labelled.folder
    cache_dir = cache_dir if labelled.layout == "dsb" else None
    samples, skipped = load_samples(folder, ids, progress=progress, cache_dir=cache_dir, read=labelled.read)
    types = typer.types_of(samples)
    if typer.inferred:
        log(f"{len(typer.inferred)} image(s) not in {typer.table_path} were typed with {typer.model_path}")
    val_ids = set(run.val_ids) or set(split_ids([s.image_id for s in samples], types, val_fraction, run.split_seed)[1])
    sides = {True: ([], []), False: ([], [])}
    for sample, kind in zip(samples, types):
        side = sides[sample.image_id in val_ids]
        side[0].append(sample)
        side[1].append(kind)
    (train, train_types), (val, val_types) = sides[False], sides[True]
    if not train or not val:
        raise UserError(f"no usable labelled images left in {folder} after skipping bad data")
    log(f"{len(train)} training and {len(val)} validation images from {folder}")
    if len(val) < FEW_VALIDATION_IMAGES:
        log(f"note: {len(val)} validation image(s): the epoch kept and the post-processing tuned rest on few "
            "nuclei, so both are rough; more annotated images or a larger --val-fraction make them firmer")  # fmt: skip
    sample_indices = sampler(train_types)
    if not sample_indices:
        raise UserError("the sampling draws no training image at all; check --multipliers")
    for line in describe_draws(train_types, sample_indices):
        log(line)
    return TrainingData(train, train_types, val, val_types, sample_indices, skipped)
