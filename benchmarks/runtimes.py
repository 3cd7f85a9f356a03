"""Prediction on each runtime beside the original's loop: the same images, the same trained model, one run.

Usage::

    python benchmarks/runtimes.py --data stage1_train --model models/dsb2018
    python benchmarks/runtimes.py --data stage1_train --count 40 --no-scripts

Rows, on the first --count development images at their own size, post-processed
with the model folder's tuned parameters and scored against their masks (no
flips: the original had none):

- the original's loop: one Keras ``model.predict`` per image, then the instances
  and the score, as the original's ``generate_predictions.py`` did;
- the suite's batched prediction with the network run by TensorFlow, ONNX Runtime
  and OpenVINO (those installed), the same instances and score;
- each runtime's network alone (no instances, no score), its GFLOP/s and the
  fraction of the machine's measured matrix-multiply rate (float32 and bfloat16)
  that it reaches: the limit no schedule of the same arithmetic can pass;
- with scripts (default), whole ``generate_predictions.py`` runs on a folder of
  those images (reading, prediction, instances, writing ``predict/``) in a fresh
  process per runtime, start-up and conversion included.

Each row's mean competition score and largest probability difference from
TensorFlow's say whether it gives the same nuclei. Prints Markdown tables.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nuclei import cli, optional, runtime

PROJECT = Path(__file__).resolve().parent.parent

VARIANTS = (("tensorflow", "auto"), ("onnx", "auto"), ("openvino", "f32"), ("openvino", "auto"))
"""(runtime, precision) of the in-process rows: OpenVINO in float32 too, to show what its bfloat16 is worth."""


def installed_runtimes() -> list[str]:
    """TensorFlow and each other runtime whose packages are here."""
    from nuclei.prediction.runtimes import RUNTIMES

    names = [name for name in RUNTIMES if name != "auto"]
    return [name for name in names if name == "tensorflow" or not optional.missing(f"runtime {name}")]


def matmul_rates(tf) -> dict[str, float]:
    """Measured matrix-multiply rate of this machine in FLOP/s, float32 and bfloat16 (TensorFlow, oneDNN)."""
    from benchmark import matmul_flops_per_second

    return {dtype: matmul_flops_per_second(tf, dtype=dtype) for dtype in ("float32", "bfloat16")}


def flops_per_pixel(filters: list[int]) -> float:
    """Forward FLOPs per input pixel of the U-Net (fully convolutional: the same for any size that is a multiple
    of 16)."""
    from nuclei.model.flops import forward_flops
    from nuclei.model.unet import build_unet

    return forward_flops(build_unet(tuple(filters), input_size=(256, 256))) / 256**2


def original_loop(model, samples: list, parameters: dict) -> tuple[list[np.ndarray], float]:
    """The original's prediction: one model.predict per (padded) image, then instances and score."""
    from nuclei.data.normalisation import model_input
    from nuclei.model.shape import SIZE_STEP
    from nuclei.prediction.inference import pad_to_multiple

    maps = []
    for sample in samples:
        padded, (height, width) = pad_to_multiple(model_input(sample.image), SIZE_STEP)
        maps.append(model.predict(padded[None], verbose=0)[0, :height, :width])
    return maps, finish(samples, maps, parameters)


def finish(samples: list, maps: list[np.ndarray], parameters: dict) -> float:
    """Mean competition score of the instances made from maps with parameters."""
    from nuclei.evaluation.scores import score_labels
    from nuclei.prediction.instances import label_nuclei

    return float(np.mean([score_labels(s.labels, label_nuclei(p, parameters))["score"] for s, p in zip(samples, maps)]))


def suite(network, samples: list, parameters: dict, network_only: bool = False) -> tuple[list, float | None]:
    """The suite's batched prediction with network; the maps and the mean score (None when network_only)."""
    from nuclei.prediction.inference import predict_probabilities

    maps = [p for _, p in predict_probabilities(network, [s.image for s in samples], progress=False)]
    return maps, None if network_only else finish(samples, maps, parameters)


def timed(function, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of function(*args, **kwargs)."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def in_process_rows(args: argparse.Namespace, samples: list) -> list[tuple]:
    """Rows (name, seconds, score, largest difference, network-only seconds) of the original loop and each runtime."""
    from nuclei.model.folder import load_model, read_postprocessing
    from nuclei.prediction.runtimes import open_network

    model = load_model(args.model)
    parameters = read_postprocessing(args.model).parameters
    seconds, (reference, score) = timed(original_loop, model, samples, parameters)
    rows = [("original loop: one model.predict per image (TensorFlow)", seconds, score, 0.0, None, 0.0)]
    installed = installed_runtimes()
    for name, precision in VARIANTS:
        if name not in installed:
            continue
        opening, network = timed(open_network, model, name, log=lambda _: None, precision=precision)
        seconds, (maps, score) = timed(suite, network, samples, parameters)
        network_seconds, _ = timed(suite, network, samples, parameters, network_only=True)
        difference = max(float(np.abs(a - b).max()) for a, b in zip(maps, reference))
        label = f"suite, batched, {name}" + (" (float32)" if precision == "f32" else "")
        rows.append((label, seconds, score, difference, network_seconds, opening))
    return rows


def script_rows(args: argparse.Namespace, ids: list[str]) -> list[tuple[str, float]]:
    """(runtime, wall seconds) of whole generate_predictions.py runs on a DSB folder of the images.

    Each image's folder is new, with links to its images/ and masks/, so that
    the predict/ folders the script writes stay in the temporary folder.
    """
    rows = []
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "images_under_test"
        for image_id in ids:
            (folder / image_id).mkdir(parents=True)
            for part in ("images", "masks"):
                target = (Path(args.data) / image_id / part).resolve()
                (folder / image_id / part).symlink_to(target, target_is_directory=True)
        for name in installed_runtimes():
            for old in folder.glob("*/predict"):
                shutil.rmtree(old)
            command = [sys.executable, str(PROJECT / "generate_predictions.py"), "256", "--model", str(args.model)]
            command += ["--train", str(folder), "--no-cache", "--tta", "off", "--runtime", name]
            started = time.perf_counter()
            subprocess.run(command, cwd=work, check=True, capture_output=True)
            rows.append((name, time.perf_counter() - started))
    return rows


def main(argv=None) -> None:
    parser = cli.make_parser(__doc__)
    parser.add_argument("--data", default="stage1_train", help="labelled DSB folder")
    parser.add_argument("--model", default=str(PROJECT / "models" / "dsb2018"), help="trained model folder")
    parser.add_argument(
        "--count", type=cli.positive_int("--count"), default=120, help="images (the first of the folder's sorted ids)"
    )
    parser.add_argument("--no-scripts", action="store_true", help="skip the whole generate_predictions.py runs")
    cli.run(measure, parser.parse_args(argv))


def measure(args: argparse.Namespace) -> None:
    """Run every row and print the tables."""
    from nuclei.model.folder import check_model_dir

    check_model_dir(args.model)
    if not Path(args.data).is_dir():
        raise cli.UserError(f"--data {args.data}: no such folder")
    tf = runtime.import_tensorflow()
    from nuclei.data.dsb import list_image_ids, without_known_bad
    from nuclei.data.loading import load_samples
    from nuclei.model.folder import read_config
    from nuclei.model.shape import SIZE_STEP

    ids = without_known_bad(list_image_ids(args.data), log=lambda _: None)[: args.count]
    samples, _ = load_samples(args.data, ids, progress=False)
    pixels = sum((-(-s.image.shape[0] // SIZE_STEP) * SIZE_STEP) * (-(-s.image.shape[1] // SIZE_STEP) * SIZE_STEP)
                 for s in samples)  # fmt: skip
    flops = flops_per_pixel(read_config(args.model).get("filters")) * pixels
    rates = matmul_rates(tf)
    rows = in_process_rows(args, samples)
    original = rows[0][1]
    float32, bfloat16 = rates["float32"] / 1e9, rates["bfloat16"] / 1e9
    print(f"\n{len(samples)} images, {pixels / 1e6:.1f} Mpixels padded, {flops / 1e9:.0f} GFLOP per pass; "
          f"matrix multiply {float32:.0f} GFLOP/s float32, {bfloat16:.0f} bfloat16\n")  # fmt: skip
    print("| prediction | seconds | vs original | score | largest difference | network alone (s) | GFLOP/s "
          "| of float32 / bfloat16 matmul | conversion (s) |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for name, seconds, score, difference, network, opening in rows:
        alone = "—" if network is None else f"{network:.1f}"
        rate = "—" if network is None else f"{flops / network / 1e9:.0f}"
        fraction = "—" if network is None else (
            f"{flops / network / rates['float32']:.0%} / {flops / network / rates['bfloat16']:.0%}")  # fmt: skip
        print(f"| {name} | {seconds:.1f} | {original / seconds:.2f}x | {score:.3f} | {difference:.3f} | {alone} "
              f"| {rate} | {fraction} | {opening:.1f} |")  # fmt: skip
    if not args.no_scripts:
        print("\n| generate_predictions.py, whole run (--tta off) | seconds |\n|---|---|")
        for name, seconds in script_rows(args, ids):
            print(f"| --runtime {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
