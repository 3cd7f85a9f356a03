"""Writing a trained U-Net as a TensorFlow SavedModel or an ONNX file, for runtimes outside this suite.

Usage::

    write_savedmodel(model, "unet_savedmodel")   # folder; endpoint "serve": image -> {"probabilities": ...}
    write_onnx(model, "unet.onnx")               # ONNX opset ONNX_OPSET, input "image", output "probabilities"

Both take a float32 batch (N, H, W, 3) of images normalised as the suite
does (nuclei.data.normalisation.model_input: RGB scaled to [0, 1]), with H
and W multiples of 16, and give float32 (N, H, W, 2): the probability of
nucleus and of the border between touching nuclei. Each is written under a
temporary name and renamed when complete.
"""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nuclei.errors import UserError
from nuclei.files import FOLDER_MODE, atomic_save

ONNX_OPSET = 17
"""ONNX operator set of the exported files: read by ONNX Runtime 1.12 and later, OpenVINO and deepImageJ's
ONNX engine."""
INPUT_NAME, OUTPUT_NAME = "image", "probabilities"
OUTPUT_CHANNELS = ("nucleus", "border")


def _forward(model) -> Any:
    """The model's inference pass as a tf.function of input_spec(model) returning {OUTPUT_NAME: probabilities}."""
    import tensorflow as tf

    return tf.function(lambda image: {OUTPUT_NAME: model(image, training=False)}, input_signature=[input_spec(model)])


def input_spec(model) -> Any:
    """The float32 (None, None, None, channels) TensorSpec named INPUT_NAME that every export takes."""
    import tensorflow as tf

    return tf.TensorSpec((None, None, None, model.input_shape[-1]), tf.float32, name=INPUT_NAME)


def concrete_forward(model) -> Any:
    """The model's inference pass traced for input_spec: a TensorFlow ConcreteFunction (OpenVINO converts it)."""
    return _forward(model).get_concrete_function()


def onnx_graph(model, opset: int = ONNX_OPSET) -> Any:
    """The model as an ONNX ModelProto made by tf2onnx, dynamic in batch, height and width."""
    import tf2onnx

    proto, _ = tf2onnx.convert.from_function(_forward(model), input_signature=(input_spec(model),), opset=opset)
    return proto


def write_onnx(model, path: str | Path, opset: int = ONNX_OPSET) -> Path:
    """Write the model as an ONNX file at path (atomically, never over an existing file); returns path."""
    import onnx

    proto = onnx_graph(model, opset)
    try:
        atomic_save(path, lambda temporary: onnx.save(proto, temporary), exclusive=True)
    except FileExistsError:
        raise UserError(f"{path} exists; choose another --out or remove it") from None
    return Path(path)


def write_savedmodel(model, folder: str | Path) -> Path:
    """Write the model as a TensorFlow SavedModel folder; returns folder.

    Its function "serve" (also the signature "serving_default") takes
    INPUT_NAME and returns {OUTPUT_NAME: probabilities}: a dict, as
    bioimageio.core's TensorFlow loader requires. The folder appears only
    once complete (written beside it, then renamed); an existing folder is a
    UserError. (Keras's ExportArchive would store every weight twice.)
    """
    import tensorflow as tf

    folder = Path(folder)
    if folder.exists():
        raise UserError(f"{folder} exists; choose another --out or remove it")

    served = tf.Module()
    served.model, served.serve = model, _forward(model)
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        tf.saved_model.save(served, str(temporary), signatures={"serving_default": served.serve})
        os.chmod(temporary, FOLDER_MODE)
        if folder.exists():
            raise UserError(f"{folder} exists; choose another --out or remove it")
        temporary.rename(folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder
