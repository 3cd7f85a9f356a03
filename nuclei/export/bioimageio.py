"""A model folder as a BioImage Model Zoo package (bioimage.io model format 0.5), tested before it is written.

Usage::

    write_package(model, Path("models/dsb2018"), Path("nuclei_unet.zip"))    # model: the folder's Keras model
    check_package(Path("nuclei_unet.zip"))      # bioimageio.core's test of every weight format; UserError if one fails

The package holds ``rdf.yaml``; the network as a TensorFlow SavedModel (zip;
the original entry) and as ONNX (converted from the same traced function);
a generated fluorescence test image with the output it must give; a cover;
a documentation page; and, in the description's ``config.nuclei``, the model
folder's tuned post-processing, flips and nucleus sizes, which turn the
probabilities into nuclei as the suite does.

The input is the raw RGB image (uint8, any height and width that are
multiples of 16). The package's pre-processing stretches its 1st to 99.9th
percentile to [0, 1] and clips, as the suite does. Two steps of the suite's
normalisation cannot be said in bioimage.io's operations, and the
documentation page says so: images whose nuclei are darker than their
background (bright-field, H&E) are inverted, and an image of nearly one grey
level is stretched less (nuclei.data.normalisation.MIN_CONTRAST).
"""

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nuclei.data.normalisation import MIN_CONTRAST, PERCENTILES
from nuclei.errors import UserError, one_line
from nuclei.export.networks import INPUT_NAME, ONNX_OPSET, OUTPUT_CHANNELS, OUTPUT_NAME, write_onnx, write_savedmodel
from nuclei.files import publish

TEST_SIZE = 256
"""Height and width of the package's test image, pixels."""
WEIGHT_FORMATS = ("tensorflow_saved_model_bundle", "onnx")
DATA_CITATION = (
    "Caicedo JC, Goodman A, Karhohs KW et al. (2019) Nucleus segmentation across imaging experiments: "
    "the 2018 Data Science Bowl. Nature Methods 16, 1247-1253.",
    "10.1038/s41592-019-0612-7",
)
DEFAULT_AUTHOR = "DSB 2018 nuclei suite"


def test_image(seed: int = 0) -> np.ndarray:
    """A generated fluorescence image, uint8 (1, TEST_SIZE, TEST_SIZE, 3): nuclei bright on a dark background."""
    from nuclei.data.synthetic import draw_labels, render

    rng = np.random.default_rng(seed)
    return render(rng, draw_labels(rng, (TEST_SIZE, TEST_SIZE)), "fluorescence")[None]


def package_input(image: np.ndarray) -> np.ndarray:
    """What the package's pre-processing makes of a uint8 batch: each image's PERCENTILES stretched to [0, 1]."""
    pixels = image.astype(np.float32)
    low, high = np.percentile(pixels, PERCENTILES, axis=(1, 2, 3), keepdims=True)
    return np.clip((pixels - low) / (high - low + 1e-6), 0.0, 1.0).astype(np.float32)


def _suite_difference(model, image: np.ndarray, expected: np.ndarray) -> float:
    """Largest difference between the package's probabilities and the suite's own (model_input) on image."""
    from nuclei.data.normalisation import model_input

    suite = np.asarray(model(model_input(image[0])[None], training=False))
    return float(np.abs(suite - expected).max())


def _cover(image: np.ndarray, output: np.ndarray, path: Path) -> None:
    """An 800 x 400 px picture: the test image beside its nucleus and border probabilities."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(10, 5), dpi=80)
    panels = [(image[0], "input"), (output[0, ..., 0], "nucleus probability"), (output[0, ..., 1], "border")]
    for axis, (panel, title) in zip(axes, panels):
        axis.imshow(panel, cmap=None if panel.ndim == 3 else "magma", vmin=0, vmax=None if panel.ndim == 3 else 1)
        axis.set_title(title)
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _zip_folder(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return path


def suite_config(model_dir: Path) -> dict[str, Any]:
    """What the suite knows of the model folder and a package's user needs to make nuclei as the suite does."""
    from nuclei.model.folder import read_config, read_postprocessing

    config = read_config(model_dir)
    tuned = read_postprocessing(model_dir)
    return {
        "postprocessing": tuned.parameters,
        "flips": tuned.tta,
        "nucleus_diameter_px": config.get("nucleus_diameter"),
        "nucleus_diameter_range_px": config.get("nucleus_diameter_range"),
        "trained": {key: config.get(key) for key in ("script", "img_size", "epochs", "best_epoch", "best_score")},
        "data": (config.get("arguments") or {}).get("data"),
        "source": config.get("source"),
    }


def documentation(name: str, extra: dict[str, Any], difference: float) -> str:
    """The package's documentation page (Markdown): what goes in, what comes out, how to get nuclei."""
    parameters = json.dumps(extra["postprocessing"]) if extra["postprocessing"] else "the suite's defaults"
    sizes = ""
    if extra["nucleus_diameter_px"]:
        sizes = (f" The network saw nuclei of about {extra['nucleus_diameter_px']:g} pixels across "
                 f"(range {extra['nucleus_diameter_range_px']}): resize images whose nuclei are much smaller or "
                 "larger.")  # fmt: skip
    return f"""# {name}

A U-Net that finds cell nuclei in 2-D microscope images: fluorescence, bright-field and
stained histology. Trained by the DSB 2018 nuclei suite (`{extra["trained"]["script"]}`,
data `{extra["data"]}`) on the 2018 Data Science Bowl images (BBBC038).

## Input
`{INPUT_NAME}`: an RGB image (batch, y, x, channel), uint8; y and x multiples of 16
(pad the bottom and right with zeros). A grey image goes in as three equal channels.
The pre-processing stretches the 1st to 99.9th percentile of each image to [0, 1].
**Images whose nuclei are darker than the background** (bright-field, H&E) **must be
inverted first** (255 - value): the suite does this by itself, bioimage.io's
operations cannot. The suite also stretches an image of nearly one grey level less (by at
most 255 / {MIN_CONTRAST:g}), so that its noise is not blown up; the package stretches every
image fully.{sizes}

## Output
`{OUTPUT_NAME}`: float32 (batch, y, x, channel), the input's size; channel 0 `{OUTPUT_CHANNELS[0]}`:
probability of nucleus; channel 1 `{OUTPUT_CHANNELS[1]}`: probability of the border between
touching nuclei.

## From probabilities to nuclei
The suite's post-processing, tuned on the model's validation images, is in `config.nuclei`
of `rdf.yaml`: {parameters}. For `border_watershed`: mask = nucleus > `threshold`;
seeds = connected pieces of mask where border < `border_threshold`; watershed of
-nucleus from the seeds within the mask (scikit-image `watershed`); pieces of the mask
without a seed become nuclei of their own; nuclei under `min_size` pixels, or whose mean
nucleus probability is below `min_confidence`, are dropped. `flips` says whether the mean of
the prediction of the image and its horizontal and vertical flips scored better.

On the test image the package's output differs from the suite's own prediction (which
rounds the stretched image to 8 bits) by at most {difference:.3f}.

## Weights
TensorFlow SavedModel (the original) and ONNX (opset {ONNX_OPSET}), converted from the same
traced network; both reproduce the test output (bioimageio.core's test).

## Data and licence
Training images: 2018 Data Science Bowl, BBBC038 (CC0). {DATA_CITATION[0]}
doi:{DATA_CITATION[1]}. Model: MIT licence.
"""


def _tensors(build: Path) -> tuple[Any, Any]:
    """The bioimageio.spec descriptions of the input (with its pre-processing) and the output."""
    from bioimageio.spec.model import v0_5 as spec

    float32 = spec.EnsureDtypeDescr(kwargs=spec.EnsureDtypeKwargs(dtype="float32"))
    every = [spec.AxisId("y"), spec.AxisId("x"), spec.AxisId("channel")]
    stretch = spec.ScaleRangeKwargs(axes=every, min_percentile=PERCENTILES[0], max_percentile=PERCENTILES[1])
    image = spec.InputTensorDescr(
        id=INPUT_NAME,
        description="RGB image, nuclei brighter than the background (invert bright-field and H&E first)",
        axes=[
            spec.BatchAxis(),
            spec.SpaceInputAxis(id="y", size=spec.ParameterizedSize(min=16, step=16)),
            spec.SpaceInputAxis(id="x", size=spec.ParameterizedSize(min=16, step=16)),
            spec.ChannelAxis(channel_names=["r", "g", "b"]),
        ],
        data=spec.IntervalOrRatioDataDescr(type="uint8", range=(0, 255)),
        test_tensor=spec.FileDescr(source=build / "test_input.npy"),
        sample_tensor=spec.FileDescr(source=build / "sample_input.png"),
        preprocessing=[
            float32,
            spec.ScaleRangeDescr(kwargs=stretch),
            spec.ClipDescr(kwargs=spec.ClipKwargs(min=0.0, max=1.0)),
            float32,
        ],
    )
    probabilities = spec.OutputTensorDescr(
        id=OUTPUT_NAME,
        description="probability of nucleus (channel 0) and of border between touching nuclei (channel 1)",
        axes=[
            spec.BatchAxis(),
            spec.SpaceOutputAxis(id="y", size=spec.SizeReference(tensor_id=INPUT_NAME, axis_id="y")),
            spec.SpaceOutputAxis(id="x", size=spec.SizeReference(tensor_id=INPUT_NAME, axis_id="x")),
            spec.ChannelAxis(channel_names=list(OUTPUT_CHANNELS)),
        ],
        data=spec.IntervalOrRatioDataDescr(type="float32", range=(0.0, 1.0)),
        test_tensor=spec.FileDescr(source=build / "test_output.npy"),
        sample_tensor=spec.FileDescr(source=build / "sample_output.tif"),
    )
    return image, probabilities


def _description(build: Path, name: str, authors: list[str], extra: dict[str, Any]) -> Any:
    """The bioimageio.spec ModelDescr of the files in build."""
    import tensorflow as tf
    from bioimageio.spec.model import v0_5 as spec

    image, probabilities = _tensors(build)
    weights = spec.WeightsDescr(
        tensorflow_saved_model_bundle=spec.TensorflowSavedModelBundleWeightsDescr(
            source=build / "savedmodel.zip", tensorflow_version=spec.Version(tf.__version__)
        ),
        onnx=spec.OnnxWeightsDescr(
            source=build / "model.onnx", opset_version=ONNX_OPSET, parent="tensorflow_saved_model_bundle"
        ),
    )
    return spec.ModelDescr(
        name=name,
        description="U-Net for 2-D nuclei: nucleus and border probabilities; nuclei by a seeded watershed",
        authors=[spec.Author(name=author) for author in authors],
        cite=[spec.CiteEntry(text=DATA_CITATION[0], doi=spec.Doi(DATA_CITATION[1]))],
        license=spec.LicenseId("MIT"),
        documentation=spec.FileDescr(source=build / "README.md"),
        covers=[spec.FileDescr(source=build / "cover.png")],
        tags=["nuclei", "unet", "instance-segmentation", "2d", "fluorescence-light-microscopy", "dsb2018"],
        inputs=[image],
        outputs=[probabilities],
        weights=weights,
        config=spec.Config(nuclei=extra),
    )


def _build(model, model_dir: Path, build: Path, name: str, authors: list[str]):
    """Write every file of the package into build; returns its description."""
    import tifffile

    from nuclei.files import write_png

    image = test_image()
    expected = np.asarray(model(package_input(image), training=False), dtype=np.float32)
    np.save(build / "test_input.npy", image)
    np.save(build / "test_output.npy", expected)
    write_png(build / "sample_input.png", np.ascontiguousarray(image[0][..., ::-1]))
    tifffile.imwrite(build / "sample_output.tif", expected[0])
    _cover(image, expected, build / "cover.png")
    write_onnx(model, build / "model.onnx")
    _zip_folder(write_savedmodel(model, build / "savedmodel"), build / "savedmodel.zip")
    extra = suite_config(model_dir)
    (build / "README.md").write_text(documentation(name, extra, _suite_difference(model, image, expected)))
    return _description(build, name, authors, extra)


def write_package(
    model,
    model_dir: Path,
    out: Path,
    name: str | None = None,
    authors: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Write model_dir's network (model: its Keras model) as a tested bioimage.io package zip at out.

    The package is built in a temporary folder, saved beside out under a
    temporary name, tested with bioimageio.core (every weight format must
    reproduce the test output), then renamed to out; a failed test is a
    UserError and leaves nothing.
    """
    from bioimageio.spec import save_bioimageio_package

    name = name or f"Nuclei U-Net ({model_dir.resolve().name})"
    with tempfile.TemporaryDirectory(prefix="bioimageio-") as work:
        build = Path(work) / "package"
        build.mkdir()
        log("converting the network to TensorFlow SavedModel and ONNX")
        description = _build(model, model_dir, build, name, authors or [DEFAULT_AUTHOR])
        handle, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".zip")
        os.close(handle)
        temporary = Path(name)
        try:
            save_bioimageio_package(description, output_path=temporary)
            log("testing the package with bioimageio.core, each weight format")
            check_package(temporary, shown_as=out)
            publish(temporary, out, exclusive=True)
        except FileExistsError:
            raise UserError(f"{out} exists; choose another --out or remove it") from None
        finally:
            temporary.unlink(missing_ok=True)
    return out


def _failure(summary) -> str:
    """The first error of a failed bioimageio.core summary, in one line."""
    for detail in summary.details:
        for error in detail.errors:
            message = " ".join(str(error.msg).split()) or "assertion failed"
            return f"{detail.name}: {message[:300]}"
    return f"status {summary.status}"


def check_package(path: Path, shown_as: Path | None = None) -> str:
    """Test a bioimage.io package with bioimageio.core, every weight format it holds; a line saying so.

    UserError (naming the first failure) when it is no package or a weight
    format does not reproduce the test output. The test's own files go to a
    temporary folder (its TensorFlow loader unzips into the working folder).
    """
    from bioimageio.core import test_model
    from bioimageio.spec import load_model_description

    shown, path = shown_as or path, path.resolve()
    path = path / "rdf.yaml" if path.is_dir() else path
    try:
        description = load_model_description(path, perform_io_checks=False)
    except Exception as error:  # the spec's loader raises many kinds; each becomes one line
        raise UserError(f"{shown} is not a bioimage.io model package: {one_line(error)}") from None
    formats = [name for name in WEIGHT_FORMATS if getattr(description.weights, name, None) is not None]
    if not formats:
        raise UserError(f"{shown} holds no weights this suite can test ({', '.join(WEIGHT_FORMATS)})")
    with tempfile.TemporaryDirectory(prefix="bioimageio-test-") as work, contextlib.chdir(work):
        for weight_format in formats:
            summary = test_model(path, weight_format=weight_format)
            if summary.status != "passed":
                failure = _failure(summary)
                raise UserError(f"{shown}: the {weight_format} weights fail bioimageio.core's test: {failure}")
    return f"{shown}: bioimage.io package {description.name!r} passes bioimageio.core's test ({', '.join(formats)})"
