"""Opening a model folder for prediction: which folder, its model, its tuned post-processing, flips or not.

Usage::

    model, parameters, tta, model_dir = open_for_prediction(args.model, args.img_size, args.tta)
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from nuclei.cli import switch_is_on
from nuclei.model.folder import load_model, read_config, read_postprocessing, resolve_image_size
from nuclei.prediction.instances import DEFAULT_POSTPROCESSING
from nuclei.runtime import init_devices


def default_model_dir(log: Callable[[str], None] = print) -> Path:
    """``my_balanced_model`` if it exists in the current directory, else ``my_model``; says which."""
    chosen = Path("my_balanced_model") if Path("my_balanced_model").is_dir() else Path("my_model")
    log(f"using model folder {chosen} (choose another with --model)")
    return chosen


class OpenedModel(NamedTuple):
    """A model folder opened for prediction: the model, its post-processing, whether to average over
    flips, and the folder."""

    model: Any
    parameters: dict[str, Any]
    tta: bool
    model_dir: Path


def open_for_prediction(
    model_arg: str | Path | None, img_size: int | None, tta: str = "auto", log: Callable[[str], None] = print
) -> OpenedModel:
    """The model folder model_arg (or default_model_dir()) opened for the prediction scripts.

    The folder is model_arg or default_model_dir(); the image size it was
    trained at is checked against img_size (and wins); tuned
    post-processing comes from the folder, else the defaults, saying which.
    tta is "on", "off" or "auto" (the folder's tuned choice).
    """
    model_dir = Path(model_arg) if model_arg else default_model_dir(log)
    config = read_config(model_dir)
    resolve_image_size(config, img_size, model_dir, log)
    parameters, tuned_tta = read_postprocessing(model_dir)
    if parameters is None:
        parameters = dict(DEFAULT_POSTPROCESSING)
        log(f"{model_dir} holds no tuned post-processing; using the defaults {parameters}")
    else:
        log(f"post-processing tuned on the validation images: {parameters}")
    use_tta = switch_is_on(tta, tuned_tta)
    if tta == "auto" and use_tta:
        log("averaging over flips (--tta auto: it scored better on the validation images)")
    init_devices()
    return OpenedModel(load_model(model_dir), parameters, use_tta, model_dir)
