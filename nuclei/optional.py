"""The optional packages (requirements-extras.txt): which feature needs which, and whether they are here.

Usage::

    optional.missing("runtime onnx")          # [] when everything it needs can be imported
    optional.require("export bioimageio", "--format bioimageio")   # UserError naming what is missing

Checked without importing them (importlib's find_spec), so a script can say
what is missing before TensorFlow starts.
"""

import importlib.util

from nuclei.errors import UserError

EXTRAS_FILE = "requirements-extras.txt"
NEEDS = {
    "runtime openvino": ("openvino",),
    "runtime onnx": ("onnxruntime", "tf2onnx", "onnx"),
    "export onnx": ("tf2onnx", "onnx"),
    "export savedmodel": (),
    "export bioimageio": ("bioimageio.core", "bioimageio.spec", "tf2onnx", "onnx", "onnxruntime"),
}
"""Each feature and the Python modules it imports beyond requirements.txt."""


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def missing(feature: str) -> list[str]:
    """The modules of NEEDS[feature] that cannot be imported here."""
    return [name for name in NEEDS[feature] if not _importable(name)]


def require(feature: str, what: str) -> None:
    """UserError (one line naming what and the missing modules) unless everything feature needs is here."""
    absent = missing(feature)
    if absent:
        raise UserError(f"{what} needs {', '.join(absent)}: pip install -r {EXTRAS_FILE}")
