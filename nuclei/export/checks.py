"""Checking an exported model: does it load, is it this suite's U-Net, does it run and give probabilities?

Usage::

    print(check_export(Path("unet.onnx")))          # one line saying what was checked; UserError if it fails

An ONNX file is checked by onnx's checker and run by ONNX Runtime; a
SavedModel folder is loaded and its "serving_default" signature run by
TensorFlow; a bioimage.io package is tested by bioimageio.core (its test
image must give its expected output with every weight format it holds).
"""

from pathlib import Path
from typing import Any

import numpy as np

from nuclei import optional
from nuclei.errors import UserError, one_line
from nuclei.export.networks import INPUT_NAME, OUTPUT_CHANNELS, OUTPUT_NAME

PROBE_SHAPE = (1, 64, 64, 3)
"""The input an exported network is run on in a check: one 64 x 64 RGB image."""


def _probe() -> np.ndarray:
    return np.random.default_rng(0).random(PROBE_SHAPE, dtype=np.float32)


def _check_output(path: Path, output) -> str:
    """The line saying that path ran and gave probabilities; UserError if output is not that."""
    output = np.asarray(output)
    expected = (*PROBE_SHAPE[:3], len(OUTPUT_CHANNELS))
    if output.shape != expected or not output.size or not np.all((output >= 0) & (output <= 1)):
        raise UserError(f"{path} runs but gives {output.shape} {output.dtype} values, not {expected} "
                        "probabilities")  # fmt: skip
    return f"{path}: runs, {PROBE_SHAPE} image -> {expected} probabilities"


def load_onnx(path: str | Path) -> Any:
    """The ONNX ModelProto at path, checked to be valid and shaped as this suite's U-Net; UserError otherwise."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except (OSError, ValueError, DecodeError, onnx.checker.ValidationError) as error:
        raise UserError(f"{path} is not a valid ONNX file: {one_line(error)}") from None
    inputs = [value.name for value in proto.graph.input]
    outputs = [value.name for value in proto.graph.output]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        raise UserError(f"{path} is an ONNX network from elsewhere (inputs {inputs}, outputs {outputs}), not this "
                        f"suite's U-Net ({INPUT_NAME} -> {OUTPUT_NAME})")  # fmt: skip
    return proto


def check_onnx(path: Path) -> str:
    """Check an exported ONNX file and run it with ONNX Runtime on PROBE_SHAPE; a line saying so."""
    optional.require("runtime onnx", f"checking {path}")
    import onnxruntime

    proto = load_onnx(path)
    try:
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        output = session.run(None, {INPUT_NAME: _probe()})[0]
    except Exception as error:  # ONNX Runtime's own exception types; each becomes one line
        raise UserError(f"{path} does not run on a {PROBE_SHAPE} image: {one_line(error)}") from None
    return _check_output(path, output)


def check_savedmodel(path: Path) -> str:
    """Load an exported SavedModel folder, run its serving signature on PROBE_SHAPE; a line saying so."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        signature = loaded.signatures["serving_default"]
        output = signature(**{INPUT_NAME: tf.constant(_probe())})[OUTPUT_NAME]
    except (OSError, ValueError, KeyError, TypeError, tf.errors.OpError) as error:
        raise UserError(f"{path} is not a SavedModel of this suite's U-Net: {one_line(error)}") from None
    return _check_output(path, output.numpy())


def check_export(path: Path) -> str:
    """Check whatever export path is (.onnx, SavedModel folder, bioimage.io .zip, its rdf.yaml or folder); a line
    saying so."""
    from nuclei.export import bioimageio

    if path.is_dir() and (path / "saved_model.pb").is_file():
        return check_savedmodel(path)
    if path.suffix == ".onnx":
        return check_onnx(path)
    if path.suffix in (".zip", ".yaml") or (path / "rdf.yaml").is_file():
        optional.require("export bioimageio", f"checking {path}")
        return bioimageio.check_package(path)
    raise UserError(f"{path} is not an export this suite knows: an .onnx file, a SavedModel folder or a "
                    "bioimage.io package (.zip)")  # fmt: skip
