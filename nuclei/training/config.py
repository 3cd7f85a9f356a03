"""A training run's configuration: the schema of config.json, and the state a run resumes from.

Usage::

    run = RunConfig.from_arguments(args, script="trainer.py", sampling={"method": "uniform"})
    run = run.resumed_from(RunConfig.load(work_dir / "config.json"))    # --resume
    run.save(work_dir / "config.json")

One RunConfig goes through a run: it is made from the command line, settled
when the data and devices are known (the split, the steps, the precision),
updated after every epoch (the progress fields), and completed at the end
(the results). The model folder's config.json is its last state; the working
folder's config.json, rewritten after every epoch, is what --resume reads.
Epoch numbers here count from 1, as the log prints them; history.csv's
``epoch`` column counts from 0, as Keras's does.
"""

import dataclasses
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nuclei.data.augmentation import NARROW_SCALE_RANGE, Augmentation
from nuclei.data.image_types import PROJECT_DIR
from nuclei.data.targets import TARGET_CHANNELS
from nuclei.errors import UserError
from nuclei.files import atomic_write_json

KEPT_ON_RESUME = (
    "seed",
    "split_seed",
    "train_ids",
    "val_ids",
    "schedule",
    "max_blur_sigma",
    "zoom_range",
    "intensity_augmentation",
    "contact_weight",
    "boundary_width",
    "training_precision",
    "parent",
    "trained_epochs",
    "planned_epochs",
    "best_epoch",
    "best_score",
    "schedule_state",
)
"""What a resumed run takes from the interrupted one rather than from its command line: the split,
the seeds, how the model is trained, and the progress. EPOCHS, --time-limit and the rest of the
command line may change between the two."""


@dataclass
class RunConfig:
    """Everything that defines a training run, what it settled on, how far it got, and what it scored."""

    script: str
    arguments: dict[str, Any]
    img_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str
    max_blur_sigma: float
    contact_weight: float
    boundary_width: int
    seed: int
    split_seed: int
    sampling: dict[str, Any]
    zoom_range: list[float] = field(default_factory=lambda: list(NARROW_SCALE_RANGE))
    """The training crops' zoom factors (low, high); runs from before --zoom used NARROW_SCALE_RANGE."""
    intensity_augmentation: bool = False
    # Settled when the data and devices are known.
    train_ids: list[str] = field(default_factory=list)
    val_ids: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    samples_per_epoch: int = 0
    steps_per_epoch: int = 0
    target_channels: list[str] = field(default_factory=lambda: list(TARGET_CHANNELS))
    filters: list[int] = field(default_factory=list)
    nucleus_diameter: float | None = None
    """The training images' typical nucleus diameter in pixels (nuclei.data.sizes.TrainedSizes.median), which
    prediction resizes other images' nuclei to match; None in folders from before it was recorded."""
    nucleus_diameter_range: list[float] | None = None
    """The range of the training images' median nucleus diameters (TrainedSizes.low, .high), in pixels."""
    xla: bool = False
    strategy: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    """The suite's git commit that trained the run, and whether tracked files differed from it (source_revision)."""
    devices: list[str] = field(default_factory=list)
    training_precision: str | None = None
    parent: dict[str, Any] | None = None
    """The model folder the run started from (--init): its folder, commit, data and sizes; None: random weights."""
    # Progress, after every epoch: what --resume continues from.
    trained_epochs: int = 0
    planned_epochs: int = 0
    first_scored_epoch: int = 1
    best_epoch: int = 0
    """The epoch (from 1) with the best validation score so far; 0 while none is scored."""
    best_score: float = -1.0
    schedule_state: dict[str, Any] = field(default_factory=dict)
    # Results, when the run ends.
    validation: dict[str, Any] | None = None
    finished: str | None = None
    run_seconds: float | None = None

    @classmethod
    def from_arguments(cls, args: Any, script: str, sampling: dict[str, Any]) -> "RunConfig":
        """A new run's configuration from the trainers' parsed command line."""
        split_seed = args.seed if args.split_seed is None else args.split_seed
        arguments = {name: within_suite(value) for name, value in {**vars(args), "split_seed": split_seed}.items()}
        return cls(
            script=script,
            arguments=arguments,
            img_size=args.img_size,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            schedule=args.schedule,
            max_blur_sigma=args.max_blur,
            contact_weight=args.contact_weight,
            boundary_width=args.boundary_width,
            seed=args.seed,
            split_seed=split_seed,
            sampling=sampling,
            zoom_range=list(args.zoom),
            intensity_augmentation=args.intensity_augmentation == "on",
            planned_epochs=args.epochs,
        )

    def resumed_from(self, saved: "RunConfig") -> "RunConfig":
        """This command line's configuration continuing the interrupted run saved (KEPT_ON_RESUME)."""
        kept = {name: getattr(saved, name) for name in KEPT_ON_RESUME}
        kept["planned_epochs"] = min(self.epochs, saved.planned_epochs or self.epochs)
        kept_options = {
            "schedule": saved.schedule,
            "max_blur": saved.max_blur_sigma,
            "zoom": list(saved.zoom_range),
            "intensity_augmentation": "on" if saved.intensity_augmentation else "off",
            "contact_weight": saved.contact_weight,
            "boundary_width": saved.boundary_width,
            "split_seed": saved.split_seed,
        }
        return dataclasses.replace(self, **kept, arguments={**self.arguments, **kept_options})

    @property
    def augmentation(self) -> Augmentation:
        """How the run varies its training crops."""
        low, high = self.zoom_range
        return Augmentation(self.max_blur_sigma, (low, high), self.intensity_augmentation)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as config.json holds it."""
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> None:
        """Write the configuration as JSON, atomically."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        """A RunConfig from a config.json's contents; keys it does not know (older or newer folders) are ignored."""
        known = {item.name for item in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        """The RunConfig saved at path; UserError naming the file if it is unreadable or incomplete."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
            return cls.from_dict(data)
        except (OSError, ValueError, TypeError) as error:
            raise UserError(f"{path} is not a readable run configuration: {error}") from None


def package_versions() -> dict[str, str]:
    """The versions of Python and of the libraries a model depends on."""
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def within_suite(value: Any) -> Any:
    """A path inside the suite's folder (the default type tables) as relative to it, so that config.json
    names no folder of the machine that trained; anything else as it is."""
    suite = str(PROJECT_DIR) + "/"
    return value[len(suite) :] if isinstance(value, str) and value.startswith(suite) else value


def source_revision() -> dict[str, Any]:
    """{"commit": the suite's git commit, "modified": whether tracked files differ from it}; {} outside a git
    checkout (an installed copy) or without git."""
    import subprocess

    def git(*arguments):
        return subprocess.run(
            ["git", "-C", str(PROJECT_DIR), *arguments], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "modified": bool(git("status", "--porcelain", "-uno"))}
    except (OSError, subprocess.SubprocessError):
        return {}
