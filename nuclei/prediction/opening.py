"""Opening a model folder for prediction: which folder, its model, its tuned post-processing, flips or not.

Usage::

    opened = open_for_prediction(args.model, args.img_size, args.tta, runtime=args.runtime)
    opened.model, opened.parameters, opened.tta, opened.model_dir, opened.config
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from nuclei.cli import switch_is_on
from nuclei.data.sizes import TrainedSizes
from nuclei.model.folder import SHIPPED_MODEL_DIR, load_model, read_config, read_postprocessing, resolve_image_size
from nuclei.prediction.instances import DEFAULT_POSTPROCESSING
from nuclei.prediction.runtimes import RUNTIME_NAMES, open_network
from nuclei.prediction.scale import factor_for
from nuclei.runtime import init_devices


def default_model_dir(log: Callable[[str], None] = print) -> Path:
    """``my_balanced_model`` or ``my_model`` if one exists in the current directory (in that order), else the
    model shipped with the suite (SHIPPED_MODEL_DIR, found wherever the command is run); says which."""
    found = [Path(name) for name in ("my_balanced_model", "my_model") if Path(name).is_dir()]
    if found:
        chosen = found[0]
    elif SHIPPED_MODEL_DIR.is_dir():
        chosen = SHIPPED_MODEL_DIR
    else:
        chosen = Path("my_model")
    log(f"using model folder {chosen} (choose another with --model)")
    return chosen


def trained_sizes_of(config: dict[str, Any]) -> TrainedSizes | None:
    """The TrainedSizes a config.json records (nucleus_diameter and its range), or None."""
    median, seen = config.get("nucleus_diameter"), config.get("nucleus_diameter_range")
    numbers = [median, *seen] if isinstance(seen, list) and len(seen) == 2 else []
    if not all(isinstance(value, int | float) and value > 0 for value in numbers) or not numbers:
        return None
    return TrainedSizes(*map(float, numbers))


class OpenedModel(NamedTuple):
    """A model folder opened for prediction: the model (a runtimes.Network), its post-processing, whether
    to average over flips, the folder, and its config.json (empty for folders without one)."""

    model: Any
    parameters: dict[str, Any]
    tta: bool
    model_dir: Path
    config: dict[str, Any]

    @property
    def trained_sizes(self) -> TrainedSizes | None:
        """The nucleus sizes (pixels) of the images the model was trained on, where the folder records them."""
        return trained_sizes_of(self.config)


def _say_how_images_are_sized(config, diameter, model_dir, log):
    sizes = trained_sizes_of(config)
    if diameter is None:
        return
    if sizes is None:
        log(f"{model_dir} records no nucleus diameter (trained before it was recorded): images are predicted "
            "at their own size, --diameter is ignored")  # fmt: skip
    elif diameter == "auto":
        log(f"images whose nuclei are not {sizes.low:g} to {sizes.high:g} pixels across are resized so that they "
            f"become {sizes.median:g}, as in the model's training images (--diameter auto)")  # fmt: skip
    else:
        factor = factor_for(diameter, sizes.median)
        log(f"images resized by {factor:.3g} so that nuclei of {diameter:g} pixels come near the model's "
            f"{sizes.median:g} (--diameter; not resized within 25%, at most 2x larger)")  # fmt: skip


def open_for_prediction(
    model_arg: str | Path | None,
    img_size: int | None,
    tta: str = "auto",
    log: Callable[[str], None] = print,
    diameter: float | str | None = None,
    runtime: str = "tensorflow",
) -> OpenedModel:
    """The model folder model_arg (or default_model_dir()) opened for the prediction scripts.

    The folder is model_arg or default_model_dir(); the image size it was
    trained at is checked against img_size (and wins); tuned
    post-processing comes from the folder, else the defaults, saying which.
    tta is "on", "off" or "auto" (the folder's tuned choice). diameter
    (--diameter) only decides what is said about resizing. runtime
    (--runtime) picks the engine that runs the network (runtimes.open_network).
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
    _say_how_images_are_sized(config, diameter, model_dir, log)
    init_devices()
    network = open_network(load_model(model_dir), runtime, log)
    if network.runtime != "tensorflow":
        log(f"network run by {RUNTIME_NAMES[network.runtime]} (--runtime {runtime})")
    return OpenedModel(network, parameters, use_tta, model_dir, config)
