"""The engine that runs a trained U-Net at prediction: TensorFlow itself, OpenVINO or ONNX Runtime.

Usage::

    network = open_network(keras_model, "auto", log)   # after runtime.import_tensorflow()
    probabilities = network(batch)     # float32 (N, H, W, 3) in, float32 (N, H, W, 2) out
    network.runtime                    # "openvino", "onnx" or "tensorflow"

The Keras model of a model folder is converted in memory when the folder is
opened (nothing is written into the folder): OpenVINO reads the traced
TensorFlow function, ONNX Runtime the ONNX graph that tf2onnx makes of it
(nuclei.export.networks makes both). Both take any batch of any height and
width (multiples of 16), as the Keras model does. ``auto`` picks OpenVINO on
a machine without a GPU where it is installed, else TensorFlow; ONNX Runtime
only when asked for (benchmarks/runtimes.py compares the three). OpenVINO
computes in bfloat16 on CPUs that have it (its default there), so its
probabilities are not TensorFlow's float32 ones to the last digit (the
benchmark compares the nuclei and scores); ``precision="f32"`` asks it for
float32.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nuclei import optional
from nuclei.errors import UserError, one_line
from nuclei.options import RUNTIMES

RUNTIME_NAMES = {"tensorflow": "TensorFlow", "openvino": "OpenVINO", "onnx": "ONNX Runtime"}


@dataclass(frozen=True)
class Network:
    """A trained U-Net ready to predict: call it on a float32 NHWC batch, get float32 probabilities."""

    runtime: str
    predict: Callable[[np.ndarray], np.ndarray]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.predict(batch)


def choose_runtime(requested: str, gpu: bool, log: Callable[[str], None] = print) -> str:
    """The runtime to use for requested (one of RUNTIMES); a missing one falls back to TensorFlow with one note."""
    if requested not in RUNTIMES:
        raise ValueError(f"--runtime must be one of {', '.join(RUNTIMES)}, not {requested!r}")
    if requested == "auto":
        return "openvino" if not gpu and not optional.missing("runtime openvino") else "tensorflow"
    absent = [] if requested == "tensorflow" else optional.missing(f"runtime {requested}")
    if absent:
        log(f"--runtime {requested}: {', '.join(absent)} not installed (pip install -r {optional.EXTRAS_FILE}); "
            "using TensorFlow")  # fmt: skip
        return "tensorflow"
    return requested


def _openvino(model, precision: str) -> Callable[[np.ndarray], np.ndarray]:
    import openvino as ov

    from nuclei.export.networks import concrete_forward

    converted = ov.convert_model(concrete_forward(model))
    settings = {"PERFORMANCE_HINT": "LATENCY"}
    if precision == "f32":
        settings["INFERENCE_PRECISION_HINT"] = "f32"
    compiled = ov.Core().compile_model(converted, "CPU", settings)
    request = compiled.create_infer_request()
    return lambda batch: request.infer([np.ascontiguousarray(batch, np.float32)], share_inputs=True)[0]


def _onnx_runtime(model) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime

    from nuclei.export.networks import INPUT_NAME, onnx_graph

    session = onnxruntime.InferenceSession(onnx_graph(model).SerializeToString(), providers=["CPUExecutionProvider"])
    return lambda batch: session.run(None, {INPUT_NAME: np.ascontiguousarray(batch, np.float32)})[0]


def open_network(
    model, requested: str = "auto", log: Callable[[str], None] = print, precision: str = "auto"
) -> Network:
    """model (a Keras U-Net) ready to predict on the runtime chosen by choose_runtime.

    precision: "auto" (the runtime's own choice on this CPU) or "f32". A
    conversion that fails is a UserError naming the runtime, except under
    "auto", which then falls back to TensorFlow with one note.
    """
    from nuclei import runtime as process
    from nuclei.prediction.inference import make_predictor

    chosen = choose_runtime(requested, process.gpu_visible(), log)
    if chosen == "tensorflow":
        return Network("tensorflow", make_predictor(model))
    try:
        predict = _openvino(model, precision) if chosen == "openvino" else _onnx_runtime(model)
    except Exception as error:  # the converters raise many kinds; each becomes one line
        reason = f"{type(error).__name__}: {one_line(error)}"
        if requested != "auto":
            raise UserError(f"--runtime {chosen}: cannot convert the model ({reason})") from None
        log(f"{RUNTIME_NAMES[chosen]} cannot convert the model ({reason}); using TensorFlow")
        return Network("tensorflow", make_predictor(model))
    return Network(chosen, predict)
