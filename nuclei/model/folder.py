"""The self-describing model folder, written whole or not at all.

Usage::

    writer = ModelFolderWriter("my_model")   # works in "my_model.partial/"
    ... write model.keras, config.json, history.csv into writer.work_dir ...
    writer.commit()                          # swaps it into place
    model = load_model("my_model")

A finished folder holds ``model.keras`` (Keras 3 native format),
``config.json`` (the run's RunConfig: every argument, image size, split,
seeds, precision, versions, progress and validation summary; see
nuclei.training.config), ``history.csv`` (per-epoch loss, metrics and
validation score), ``training_curves.png``, ``postprocessing.json``
(thresholds tuned on the validation split) and ``validation_report.json``
(per-image and per-type validation scores).

While training, everything goes to ``<name>.partial/`` beside it, which also
keeps the checkpoint of the last finished epoch and the weights of the
best-scoring one, for ``--resume`` (nuclei.training.checkpoint). Only
``commit()`` replaces the previous complete folder, by two renames; a run
killed at any moment leaves the previous folder (or, between the renames,
``<name>.previous/``, which the next writer puts back).
"""

import json
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from nuclei.data.image_types import PROJECT_DIR
from nuclei.errors import UserError

REQUIRED_FILES = ("model.keras", "config.json")
SHIPPED_MODEL_DIR = PROJECT_DIR / "models" / "dsb2018"
"""The trained model folder that comes with the suite, used when no other is named or found."""


class ModelFolderWriter:
    """The working copy of a model folder, swapped into place only by commit()."""

    def __init__(self, out_dir: str | Path, resume: bool = False):
        self.out_dir = Path(out_dir)
        self.work_dir = self.work_dir_of(out_dir)
        self.previous_dir = self.out_dir.with_name(self.out_dir.name + ".previous")
        self._restore_previous()
        if not resume and self.work_dir.exists():
            shutil.rmtree(self.work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def work_dir_of(out_dir: str | Path) -> Path:
        """The working copy beside out_dir: ``<out_dir>.partial``."""
        out_dir = Path(out_dir)
        return out_dir.with_name(out_dir.name + ".partial")

    def _restore_previous(self):
        if self.previous_dir.exists() and not self.out_dir.exists():
            os.rename(self.previous_dir, self.out_dir)
        elif self.previous_dir.exists():
            shutil.rmtree(self.previous_dir)

    def commit(self) -> None:
        """Replace out_dir by the finished working copy."""
        missing = [name for name in REQUIRED_FILES if not (self.work_dir / name).is_file()]
        if missing:
            raise RuntimeError(f"model folder is incomplete, missing {', '.join(missing)}")
        if self.out_dir.exists():
            os.rename(self.out_dir, self.previous_dir)
        os.rename(self.work_dir, self.out_dir)
        if self.previous_dir.exists():
            shutil.rmtree(self.previous_dir)


def check_model_dir(model_dir: str | Path) -> Path:
    """UserError unless model_dir is a complete model folder."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"model folder {model_dir} does not exist; train one with trainer.py")
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise UserError(f"model folder {model_dir} is incomplete: missing {', '.join(missing)}")
    return model_dir


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """The folder's config.json as a dict; UserError if it is unreadable."""
    path = check_model_dir(model_dir) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("img_size"), int):
        raise UserError(f"{path} has no integer img_size")
    return config


def resolve_image_size(
    config: dict[str, Any], requested: int | None, model_dir: str | Path, log: Callable[[str], None] = print
) -> int:
    """The training image size from config; says so when the requested IMG_SIZE differs."""
    trained = config["img_size"]
    if requested is not None and requested != trained:
        log(
            f"note: IMG_SIZE {requested} differs from the size {trained} the model in {model_dir} "
            f"was trained at; using {trained}"
        )
    return trained


class TunedPostprocessing(NamedTuple):
    """What a model folder's postprocessing.json says: the parameters (None where the folder has no
    such file) and whether averaging over flips scored better on the validation images."""

    parameters: dict[str, Any] | None
    tta: bool


def read_postprocessing(model_dir: str | Path) -> TunedPostprocessing:
    """The post-processing tuned on the validation split, or (None, False) when the folder has none."""
    path = Path(model_dir) / "postprocessing.json"
    if not path.is_file():
        return TunedPostprocessing(None, False)
    try:
        tuned = json.loads(path.read_text(encoding="utf-8"))
        return TunedPostprocessing(dict(tuned["parameters"]), bool(tuned.get("tta", False)))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is not a valid post-processing file: {error}") from None


def load_model_file(path: str | Path):
    """Load a .keras file in Keras's safe mode (no arbitrary code from lambdas); UserError if it fails.

    Imports the modules that register the custom objects a saved model names
    (the layer, the loss and metrics, the learning-rate schedule).
    """
    import keras

    import nuclei.model.layers  # noqa: F401
    import nuclei.model.learning_rate  # noqa: F401
    import nuclei.model.losses  # noqa: F401

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except (OSError, EOFError, ValueError, TypeError, KeyError, zipfile.BadZipFile, zlib.error) as error:
        raise UserError(f"cannot load {path}: {error}") from None


def load_model(model_dir: str | Path):
    """The model of a complete model folder."""
    return load_model_file(check_model_dir(model_dir) / "model.keras")
