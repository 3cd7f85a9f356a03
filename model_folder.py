"""The self-describing model folder, written whole or not at all.

Usage::

    writer = ModelFolderWriter("my_model")   # works in "my_model.partial/"
    ... write model.keras, config.json, history.csv into writer.work_dir ...
    writer.commit()                          # swaps it into place
    config = read_config("my_model")
    model = load_model("my_model")

A finished folder holds ``model.keras`` (Keras 3 native format),
``config.json`` (arguments, image size, split, versions, seed),
``history.csv`` (per-epoch loss, metrics and validation score), ``training_curves.png``,
``postprocessing.json`` (thresholds tuned on the validation split) and
``validation_report.json`` (per-type validation scores).

While training, everything goes to ``<name>.partial/`` beside it, which also
keeps the checkpoint of the last finished epoch, and the weights of the
best-scoring one, for ``--resume``. Only
``commit()`` replaces the previous complete folder, by two renames; a run
killed at any moment leaves the previous folder (or, between the renames,
``<name>.previous/``, which the next writer puts back).
"""

import json
import os
import shutil
from pathlib import Path

from cli import UserError, add_switch, init_devices, switch_is_on

REQUIRED_FILES = ("model.keras", "config.json")


class ModelFolderWriter:
    """The working copy of a model folder, swapped into place only by commit()."""

    def __init__(self, out_dir, resume=False):
        self.out_dir = Path(out_dir)
        self.work_dir = self.work_dir_of(out_dir)
        self.previous_dir = self.out_dir.with_name(self.out_dir.name + ".previous")
        self._restore_previous()
        if not resume and self.work_dir.exists():
            shutil.rmtree(self.work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def work_dir_of(out_dir):
        """The working copy beside out_dir: ``<out_dir>.partial``."""
        out_dir = Path(out_dir)
        return out_dir.with_name(out_dir.name + ".partial")

    def _restore_previous(self):
        if self.previous_dir.exists() and not self.out_dir.exists():
            os.rename(self.previous_dir, self.out_dir)
        elif self.previous_dir.exists():
            shutil.rmtree(self.previous_dir)

    def commit(self):
        """Replace out_dir by the finished working copy."""
        missing = [name for name in REQUIRED_FILES if not (self.work_dir / name).is_file()]
        if missing:
            raise RuntimeError(f"model folder is incomplete, missing {', '.join(missing)}")
        if self.out_dir.exists():
            os.rename(self.out_dir, self.previous_dir)
        os.rename(self.work_dir, self.out_dir)
        if self.previous_dir.exists():
            shutil.rmtree(self.previous_dir)


def default_model_dir(log=print):
    """``my_balanced_model`` if it exists in the current directory, else ``my_model``; says which."""
    chosen = Path("my_balanced_model") if Path("my_balanced_model").is_dir() else Path("my_model")
    log(f"using model folder {chosen} (choose another with --model)")
    return chosen


def check_model_dir(model_dir):
    """UserError unless model_dir is a complete model folder."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"model folder {model_dir} does not exist; train one with trainer.py")
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise UserError(f"model folder {model_dir} is incomplete: missing {', '.join(missing)}")
    return model_dir


def read_config(model_dir):
    """The folder's config.json as a dict; UserError if it is unreadable."""
    path = check_model_dir(model_dir) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(config, dict) or not isinstance(config.get("img_size"), int):
        raise UserError(f"{path} has no integer img_size")
    return config


def resolve_image_size(config, requested, model_dir, log=print):
    """The training image size from config; says so when the requested IMG_SIZE differs."""
    trained = config["img_size"]
    if requested is not None and requested != trained:
        log(
            f"note: IMG_SIZE {requested} differs from the size {trained} the model in {model_dir} "
            f"was trained at; using {trained}"
        )
    return trained


def read_postprocessing(model_dir):
    """(parameters, tta) tuned on the validation split, or (None, False) when the folder has none.

    tta says whether averaging over flips scored better there.
    """
    path = Path(model_dir) / "postprocessing.json"
    if not path.is_file():
        return None, False
    try:
        tuned = json.loads(path.read_text(encoding="utf-8"))
        return dict(tuned["parameters"]), bool(tuned.get("tta", False))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is not a valid post-processing file: {error}") from None


def load_model_file(path):
    """Load a .keras file in Keras's safe mode (no arbitrary code from lambdas); UserError if it fails."""
    import keras

    import trainer_functional  # noqa: F401  (registers the layer, loss, metrics and learning-rate schedule)

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:
        raise UserError(f"cannot load {path}: {error}") from None


def load_model(model_dir):
    """The model of a complete model folder."""
    return load_model_file(check_model_dir(model_dir) / "model.keras")


def add_tta_argument(parser):
    """The prediction scripts' --tta option, read by open_for_prediction."""
    add_switch(
        parser, "--tta", "average over horizontal and vertical flips", "if it scored better on the validation images"
    )


def open_for_prediction(model_arg, img_size, tta="auto", log=print):
    """(model, post-processing parameters, tta, model folder) for the prediction scripts.

    The folder is model_arg or default_model_dir(); the image size it was
    trained at is checked against img_size (and wins); tuned
    post-processing comes from the folder, else the defaults, saying which.
    tta is "on", "off" or "auto" (the folder's tuned choice).
    """
    import instances

    model_dir = Path(model_arg) if model_arg else default_model_dir(log)
    config = read_config(model_dir)
    resolve_image_size(config, img_size, model_dir, log)
    parameters, tuned_tta = read_postprocessing(model_dir)
    if parameters is None:
        parameters = dict(instances.DEFAULT_POSTPROCESSING)
        log(f"{model_dir} holds no tuned post-processing; using the defaults {parameters}")
    else:
        log(f"post-processing tuned on the validation images: {parameters}")
    use_tta = switch_is_on(tta, tuned_tta)
    if tta == "auto" and use_tta:
        log("averaging over flips (--tta auto: it scored better on the validation images)")
    init_devices()
    return load_model(model_dir), parameters, use_tta, model_dir
