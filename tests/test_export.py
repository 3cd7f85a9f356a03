"""export_model.py and nuclei.export: the shipped model as ONNX, SavedModel and a bioimage.io package, each giving
Keras's probabilities; exported files checked; bad exports and bad arguments each one line."""

import json
import zipfile

import numpy as np
import pytest

from conftest import run_script, script_module
from nuclei import optional
from nuclei.model.folder import SHIPPED_MODEL_DIR

TOLERANCE = 1e-4
"""Largest difference from Keras's probabilities: the same float32 arithmetic in another order."""

needs = {
    feature: pytest.mark.skipif(bool(optional.missing(feature)), reason=f"{feature}: {optional.missing(feature)}")
    for feature in optional.NEEDS
}


@pytest.fixture(scope="module")
def image():
    """Two 80 x 112 images as the suite feeds them to the network."""
    from nuclei.export.bioimageio import package_input, test_image

    return package_input(test_image()[:, :80, :112].repeat(2, axis=0))


@needs["runtime onnx"]
def test_onnx_export_gives_keras_probabilities_in_onnx_runtime_and_openvino(shipped_keras_model, image, tmp_path):
    import onnxruntime

    from nuclei.export.checks import check_export
    from nuclei.export.networks import write_onnx

    path = write_onnx(shipped_keras_model, tmp_path / "unet.onnx")
    expected = np.asarray(shipped_keras_model(image, training=False))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert np.abs(session.run(None, {"image": image})[0] - expected).max() < TOLERANCE
    if not optional.missing("runtime openvino"):
        import openvino

        compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        assert np.abs(compiled(image)[0] - expected).max() < TOLERANCE
    assert check_export(path) == f"{path}: runs, (1, 64, 64, 3) image -> (1, 64, 64, 2) probabilities"
    assert [p.name for p in tmp_path.iterdir()] == ["unet.onnx"], "no temporary file left"


def test_savedmodel_export_gives_keras_probabilities(shipped_keras_model, image, tmp_path):
    import tensorflow as tf

    from nuclei.errors import UserError
    from nuclei.export.checks import check_export
    from nuclei.export.networks import write_savedmodel

    folder = write_savedmodel(shipped_keras_model, tmp_path / "unet_savedmodel")
    loaded = tf.saved_model.load(str(folder))
    result = loaded.signatures["serving_default"](image=tf.constant(image))["probabilities"]
    assert np.abs(result.numpy() - np.asarray(shipped_keras_model(image, training=False))).max() < TOLERANCE
    assert check_export(folder).endswith("-> (1, 64, 64, 2) probabilities")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unet_savedmodel"]
    with pytest.raises(UserError, match="exists; choose another --out"):
        write_savedmodel(shipped_keras_model, folder)


@pytest.mark.slow
@needs["export bioimageio"]
def test_the_bioimageio_package_passes_bioimageio_cores_test_and_records_the_postprocessing(tmp_path):
    from ruyaml import YAML

    out = tmp_path / "nuclei.zip"
    result = run_script("export_model.py", SHIPPED_MODEL_DIR, "--format", "bioimageio", "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == f"wrote {out}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nuclei.zip"], "nothing else left behind"
    with zipfile.ZipFile(out) as package:
        names = set(package.namelist())
        description = YAML(typ="safe").load(package.read("rdf.yaml"))
        documentation = package.read("README.md").decode()
    assert {"rdf.yaml", "model.onnx", "savedmodel.zip", "test_input.npy", "test_output.npy", "cover.png"} <= names
    assert set(description["weights"]) == {"onnx", "tensorflow_saved_model_bundle"}
    tuned = json.loads((SHIPPED_MODEL_DIR / "postprocessing.json").read_text())
    assert description["config"]["nuclei"]["postprocessing"] == tuned["parameters"]
    assert description["license"] == "MIT" and description["cite"][0]["doi"] == "10.1038/s41592-019-0612-7"
    assert "must be\ninverted first" in documentation and str(tuned["parameters"]["threshold"]) in documentation
    checked = run_script("export_model.py", "--check", out, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert "passes bioimageio.core's test (tensorflow_saved_model_bundle, onnx)" in checked.stdout


@pytest.mark.slow
@needs["export bioimageio"]
def test_a_corrupt_or_foreign_export_is_one_line(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07this is not a protobuf" * 50)
    foreign = tmp_path / "foreign.onnx"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph), foreign)
    fixed = tmp_path / "fixed_size.onnx"
    graph = helper.make_graph(
        [helper.make_node("Identity", ["image"], ["probabilities"])],
        "fixed",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 32, 32, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 32, 32, 3])],
    )
    onnx.save(helper.make_model(graph), fixed)
    foreign_savedmodel = tmp_path / "other_savedmodel"
    foreign_savedmodel.mkdir()
    (foreign_savedmodel / "saved_model.pb").write_bytes(b"not a graph")
    not_a_package = tmp_path / "photos.zip"
    with zipfile.ZipFile(not_a_package, "w") as archive:
        archive.writestr("holiday.txt", "sun")
    expected = {
        corrupt: f"error: {corrupt} is not a valid ONNX file",
        foreign: f"error: {foreign} is an ONNX network from elsewhere (inputs ['x'], outputs ['y'])",
        not_a_package: f"error: {not_a_package} is not a bioimage.io model package",
        fixed: f"error: {fixed} does not run on a (1, 64, 64, 3) image",
        foreign_savedmodel: f"error: {foreign_savedmodel} is not a SavedModel of this suite's U-Net",
        tmp_path / "notes.txt": "is not an export this suite knows",
    }
    (tmp_path / "notes.txt").write_text("hello")
    for path, message in expected.items():
        result = run_script("export_model.py", "--check", path, cwd=tmp_path)
        assert result.returncode == 1, path
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr[-2000:]


def test_bad_arguments_are_one_line_and_nothing_is_overwritten(tmp_path, capsys, monkeypatch):
    export_model = script_module("export_model")
    (tmp_path / "taken.onnx").write_text("mine")
    cases = [
        ([], 2, "name a MODEL_DIR to export or --check PATH"),
        ([str(SHIPPED_MODEL_DIR), "--check", "x.onnx"], 2, "one of the two"),
        ([str(tmp_path / "nowhere")], 1, "does not exist"),
        ([str(SHIPPED_MODEL_DIR), "--format", "onnx", "--out", str(tmp_path / "taken.onnx")], 1, "exists; choose"),
        ([str(SHIPPED_MODEL_DIR), "--out", str(tmp_path / "no" / "x.zip")], 1, f"folder {tmp_path / 'no'} does not"),
        ([str(SHIPPED_MODEL_DIR), "--format", "onnx", "--out", str(tmp_path / "x.zip")], 1, "is a .onnx file"),
        (["--check", str(tmp_path / "absent.onnx")], 1, "no such file or folder"),
    ]
    for argv, status, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            export_model.main(argv)
        assert exit_info.value.code == status, argv
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1, error
    assert (tmp_path / "taken.onnx").read_text() == "mine"
    monkeypatch.setattr(optional, "_importable", lambda name: name != "tf2onnx")
    with pytest.raises(SystemExit):
        export_model.main([str(SHIPPED_MODEL_DIR), "--format", "onnx", "--out", str(tmp_path / "new.onnx")])
    assert "--format onnx needs tf2onnx: pip install -r requirements-extras.txt" in capsys.readouterr().err


@pytest.mark.slow
@needs["export bioimageio"]
def test_a_package_that_fails_its_test_is_not_written(shipped_keras_model, tmp_path, monkeypatch):
    from nuclei.errors import UserError
    from nuclei.export import bioimageio

    def failing(path, shown_as=None):
        raise UserError(f"{shown_as}: the onnx weights fail bioimageio.core's test: Reproduce test outputs")

    monkeypatch.setattr(bioimageio, "check_package", failing)
    out = tmp_path / "nuclei.zip"
    with pytest.raises(UserError, match="fail bioimageio.core's test"):
        bioimageio.write_package(shipped_keras_model, SHIPPED_MODEL_DIR, out)
    assert list(tmp_path.iterdir()) == [], "no package and no temporary file"


@needs["runtime onnx"]
def test_the_default_out_is_named_after_the_model_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    script_module("export_model").main([str(SHIPPED_MODEL_DIR), "--format", "onnx"])
    assert capsys.readouterr().out.splitlines()[-1] == "wrote dsb2018.onnx"
    assert [path.name for path in tmp_path.iterdir()] == ["dsb2018.onnx"]
