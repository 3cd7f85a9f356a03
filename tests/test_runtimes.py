"""The prediction runtimes (nuclei.prediction.runtimes): OpenVINO and ONNX Runtime give TensorFlow's probabilities
within their tolerance, auto picks what is installed, a missing runtime falls back with one note."""

import numpy as np
import pytest

from nuclei import optional, runtime
from nuclei.prediction import runtimes

TOLERANCE = {"onnx": 1e-4, "openvino f32": 1e-4, "openvino": 0.15}
"""Largest difference from TensorFlow's float32 probabilities allowed here: ONNX Runtime and OpenVINO in float32
compute the same sums in another order; OpenVINO's default on CPUs with bfloat16 keeps 8 bits of mantissa in
the convolutions, which moves a probability near a nucleus's edge further (benchmarks/runtimes.py compares the
nuclei and scores)."""


@pytest.fixture(scope="module")
def batch():
    """Two 96 x 128 RGB images scaled as model_input scales them: blobs on a dark background."""
    from nuclei.data.normalisation import model_input
    from nuclei.data.synthetic import draw_labels, render

    rng = np.random.default_rng(2)
    images = []
    for _ in range(2):
        labels = draw_labels(rng, (96, 128))
        images.append(model_input(render(rng, labels, "fluorescence")))
    return np.stack(images)


@pytest.mark.parametrize("name", ["onnx", "openvino", "openvino f32"])
def test_each_runtime_gives_tensorflows_probabilities(shipped_keras_model, batch, name):
    chosen, _, precision = name.partition(" ")
    if optional.missing(f"runtime {chosen}"):
        pytest.skip(f"{chosen} not installed")
    expected = runtimes.open_network(shipped_keras_model, "tensorflow")(batch)
    network = runtimes.open_network(shipped_keras_model, chosen, log=print, precision=precision or "auto")
    assert network.runtime == chosen
    result = network(batch)
    assert result.shape == expected.shape == (2, 96, 128, 2) and result.dtype == np.float32
    assert np.abs(result - expected).max() < TOLERANCE[name]
    kept = network(batch[:1])
    copy = kept.copy()
    network(batch[1:])
    assert np.array_equal(kept, copy), "a later call does not overwrite an earlier result"


def test_auto_picks_openvino_without_a_gpu_where_installed(monkeypatch):
    monkeypatch.setattr(optional, "_importable", lambda name: True)
    assert runtimes.choose_runtime("auto", gpu=False) == "openvino"
    assert runtimes.choose_runtime("auto", gpu=True) == "tensorflow"
    assert runtimes.choose_runtime("onnx", gpu=False) == "onnx"
    monkeypatch.setattr(optional, "_importable", lambda name: False)
    assert runtimes.choose_runtime("auto", gpu=False) == "tensorflow"


def test_a_missing_runtime_falls_back_to_tensorflow_with_one_note(monkeypatch):
    monkeypatch.setattr(optional, "_importable", lambda name: name != "onnxruntime")
    notes = []
    assert runtimes.choose_runtime("onnx", gpu=False, log=notes.append) == "tensorflow"
    assert notes == [
        "--runtime onnx: onnxruntime not installed (pip install -r requirements-extras.txt); using TensorFlow"
    ]
    with pytest.raises(ValueError, match="--runtime must be one of"):
        runtimes.choose_runtime("tflite", gpu=False)


def test_a_network_of_another_runtime_is_its_own_predictor(batch):
    from nuclei.prediction.inference import predict_probabilities

    calls = []

    def predict(images):
        calls.append(images.shape)
        return np.full((*images.shape[:3], 2), 0.25, np.float32)

    network = runtimes.Network("test", predict)
    results = dict(predict_probabilities(network, [np.zeros((40, 50, 3), np.uint8)] * 3, progress=False))
    assert calls == [(3, 48, 64, 3)], "padded to multiples of 16, one batch"
    assert results[0].shape == (40, 50, 2) and np.all(results[2] == 0.25)


def test_a_runtime_that_cannot_convert_is_one_line_or_under_auto_a_note(shipped_keras_model, monkeypatch):
    from nuclei.errors import UserError

    def broken(model, precision):
        raise RuntimeError("Check 'node' failed\n  at line 7\n  more")

    monkeypatch.setattr(optional, "_importable", lambda name: True)
    monkeypatch.setattr(runtimes, "_openvino", broken)
    monkeypatch.setattr(runtime, "gpu_visible", lambda: False)
    with pytest.raises(UserError) as error:
        runtimes.open_network(shipped_keras_model, "openvino")
    assert str(error.value) == (
        "--runtime openvino: cannot convert the model (RuntimeError: Check 'node' failed at line 7 more)"
    )
    notes = []
    network = runtimes.open_network(shipped_keras_model, "auto", log=notes.append)
    assert network.runtime == "tensorflow"
    reason = "RuntimeError: Check 'node' failed at line 7 more"
    assert notes == [f"OpenVINO cannot convert the model ({reason}); using TensorFlow"]


def test_opening_a_folder_with_a_missing_runtime_says_so_once(monkeypatch):
    from nuclei.model.folder import SHIPPED_MODEL_DIR
    from nuclei.prediction.opening import open_for_prediction

    runtime.import_tensorflow()
    monkeypatch.setattr(optional, "_importable", lambda name: name != "onnxruntime")
    lines = []
    opened = open_for_prediction(SHIPPED_MODEL_DIR, None, "off", log=lines.append, runtime="onnx")
    assert opened.model.runtime == "tensorflow"
    assert [line for line in lines if "runtime" in line or "TensorFlow" in line] == [
        "--runtime onnx: onnxruntime not installed (pip install -r requirements-extras.txt); using TensorFlow"
    ]


@pytest.mark.slow
def test_generate_predictions_gives_the_same_nuclei_on_every_runtime(tmp_path):
    import cv2
    import tifffile

    from conftest import run_script
    from nuclei.data.synthetic import draw_labels, render

    rng = np.random.default_rng(4)
    (tmp_path / "lab").mkdir()
    for number in range(2):
        picture = render(rng, draw_labels(rng, (200, 232)), "fluorescence")
        cv2.imwrite(str(tmp_path / "lab" / f"well{number}.png"), picture[..., ::-1])
    labels = {}
    installed = [r for r in runtimes.RUNTIMES[2:] if not optional.missing(f"runtime {r}")]
    for name in ["tensorflow", *installed]:
        result = run_script(
            "generate_predictions.py", "256", "--images", "lab", "--out", name, "--runtime", name, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-3000:]
        said = [line for line in result.stdout.splitlines() if line.startswith("network run by")]
        expected = f"network run by {runtimes.RUNTIME_NAMES[name]} (--runtime {name})"
        assert said == ([] if name == "tensorflow" else [expected])
        labels[name] = [tifffile.imread(tmp_path / name / f"well{number}_labels.tif") for number in range(2)]
    reference = labels["tensorflow"]
    for name, images in labels.items():
        counts, reference_counts = [int(i.max()) for i in images], [int(i.max()) for i in reference]
        assert all(abs(a - b) <= max(1, 0.05 * b) for a, b in zip(counts, reference_counts)), (name, counts)
        agreeing = [np.mean((a > 0) == (b > 0)) for a, b in zip(images, reference)]
        assert min(agreeing) > (0.999 if name == "onnx" else 0.98), (name, agreeing)
