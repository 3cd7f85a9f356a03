"""Side-by-side measurements of the suite against the original's designs, printed as a table and saved as JSON.

Usage::

    python benchmarks/benchmark.py --data stage1_train
    python benchmarks/benchmark.py --data stage1_train --only loading prediction --json out.json

Sections (each compares in one run, on the same data and machine):

- loading: one-mask-at-a-time ``cv2.imread`` loop (the original) vs the parallel
  decoder (first run, writing the cache) vs the cache (second run);
- memory: peak resident memory of the original's in-memory design (float64 arrays,
  precomputed balanced augmentation, split copies, then training) vs
  ``trainer_balanced_data.py 256 1 16 1e-3``, and of ours with 10x multipliers and 2 epochs;
- training: images/s through the trainer's tf.data pipeline and training loop vs
  ``model.fit`` on pre-made in-memory tensors, the model's FLOPs per image, and the
  fraction of the measured matrix-multiply throughput that training reaches;
- prediction: one ``model.predict`` call per image vs the batched predictor, both with
  post-processing and scoring;
- allocator: the training section in two child processes, with glibc's default malloc
  and with the suite's tuning (nuclei.runtime.MALLOC_SETTINGS): images/s, kernel time, page faults;
- onednn: the same with TensorFlow's oneDNN CPU kernels off (TF_ENABLE_ONEDNN_OPTS=0)
  and on, which the suite leaves them;
- precision: the same in float32 and in the trainers' 16-bit compute (--mixed-precision on:
  bfloat16 on a CPU, float16 on a GPU);
- normalization: the same with the U-Net's batch normalizations as Keras's own layer
  (the suite's design until 2026-11-26) and as its fused one (``FusedBatchNormalization``);
- xla: the same with the training step run op by op and compiled by XLA (``--xla off``
  and ``on``), which the trainers turn on by themselves only where a GPU is visible.

The training section computes as the trainers do by default (--mixed-precision auto);
the allocator and onednn children compute in float32, as when they were first measured.
"""

import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nuclei import cli, runtime
from nuclei.data.augmentation import Augmentation
from nuclei.data.dsb import image_path, list_image_ids, without_known_bad
from nuclei.data.loading import load_samples
from nuclei.data.normalisation import model_input
from nuclei.data.pipelines import distributed_training_data, prepare_for_training, training_dataset
from nuclei.training import arguments
from nuclei.training.precision import PRECISION_CHOICES, new_adam, set_compute_policy, xla_compiles

PROJECT = Path(__file__).resolve().parent.parent

SECTIONS = ("loading", "memory", "training", "prediction", "allocator", "onednn", "precision", "normalization", "xla")
BATCH_NORMALIZATIONS = ("keras", "fused")
"""Keras 3's own layer (the suite's until 2026-11-26), then the fused one; fused_vs_keras divides their speeds."""
FLOAT32 = ["--mixed-precision", "off"]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def original_loading(folder, ids):
    """The original's loader: every PNG decoded in colour, one at a time, masks merged with np.maximum."""
    import cv2

    for image_id in ids:
        image = cv2.imread(str(image_path(folder, image_id)))
        union = np.zeros(image.shape[:2], dtype=bool)
        for mask_path in sorted((Path(folder) / image_id / "masks").glob("*.png")):
            union = np.maximum(union, cv2.imread(str(mask_path))[..., 0] > 0)


def bench_loading(folder, ids):
    started = time.perf_counter()
    original_loading(folder, ids)
    original = time.perf_counter() - started
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        started = time.perf_counter()
        load_samples(folder, ids, progress=False, cache_dir=cache)
        first = time.perf_counter() - started
        started = time.perf_counter()
        load_samples(folder, ids, progress=False, cache_dir=cache)
        second = time.perf_counter() - started
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    masks = sum(len(list((Path(folder) / i / "masks").glob("*.png"))) for i in ids)
    return {
        "images": len(ids),
        "masks": masks,
        "original_imread_loop_s": round(original, 2),
        "first_load_s": round(first, 2),
        "cached_load_s": round(second, 3),
        "first_vs_original": round(original / first, 1),
        "cached_vs_first": round(first / second, 1),
    }


ORIGINAL_DESIGN = r"""
import sys, numpy as np, cv2
from nuclei import runtime
tf = runtime.import_tensorflow()
from nuclei.data.dsb import list_image_ids, without_known_bad
from nuclei.data.image_types import ImageTyper
from nuclei.data.loading import load_samples
from nuclei.model.losses import bce_dice_loss
from nuclei.model.unet import build_unet
folder, size = sys.argv[1], int(sys.argv[2])
multipliers = {"fluorescence": 1, "histology": 3, "brightfield": 20}
ids = without_known_bad(list_image_ids(folder), log=lambda _: None)
samples, _ = load_samples(folder, ids, progress=False)
types = ImageTyper().types_of(samples)
X = np.stack([cv2.resize(s.image, (size, size)).astype(np.float64) / 255 for s in samples])
Y = np.stack([cv2.resize((s.labels > 0).astype(np.uint8), (size, size))[..., None].astype(np.float64) for s in samples])
del samples
augmented_x, augmented_y = [X], [Y]
rng = np.random.default_rng(0)
for index, kind in enumerate(types):
    for _ in range(multipliers[kind]):
        angle = rng.uniform(-40, 40)
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        augmented_x.append(cv2.warpAffine(X[index], matrix, (size, size))[None])
        augmented_y.append(cv2.warpAffine(Y[index], matrix, (size, size))[None, ..., None])
X_all, Y_all = np.concatenate(augmented_x), np.concatenate(augmented_y)
order = rng.permutation(len(X_all))
cut = int(0.9 * len(order))
X_train, X_val, Y_train, Y_val = X_all[order[:cut]], X_all[order[cut:]], Y_all[order[:cut]], Y_all[order[cut:]]
model = build_unet(output_channels=1)
model.compile(optimizer="adam", loss=bce_dice_loss)
model.fit(X_train, Y_train, batch_size=16, epochs=1, steps_per_epoch=2, verbose=0)
print(len(X_all))
"""


PEAK_MEMORY_WRAPPER = """
import resource, runpy, sys
# The script runs as `python script` runs it, but for sys.path[0]: the suite's scripts import the installed package.
script, sys.argv = sys.argv[1], sys.argv[1:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    print("peak-rss-kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run_child(command, cwd, env=None):
    """Run a Python script (its path and arguments) in a child; (seconds, its own peak RSS in MiB, stdout)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_WRAPPER, *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if result.returncode:
        raise RuntimeError(f"{command[:2]} failed: {result.stderr[-2000:]}")
    peak = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("peak-rss-kib")][-1]
    return time.perf_counter() - started, int(peak) / 1024, result.stdout


def bench_memory(folder):
    folder = Path(folder).resolve()
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    results = {}
    try:
        trainer = [str(PROJECT / "trainer_balanced_data.py"), "256"]
        common = ["16", "1e-3", "--data", str(folder), "--steps-per-epoch", "2", "--cache", str(work / "cache")]
        run_child(trainer + ["1", *common, "--out", str(work / "warm")], work)
        seconds, ours, _ = run_child(trainer + ["1", *common, "--out", str(work / "m1")], work)
        results["ours_256_balanced_MiB"] = round(ours)
        bigger = "fluorescence=10,histology=30,brightfield=200"
        _, ours_big, _ = run_child(trainer + ["2", *common, "--multipliers", bigger, "--out", str(work / "m2")], work)
        results["ours_10x_multipliers_2_epochs_MiB"] = round(ours_big)
        (work / "original_design.py").write_text(ORIGINAL_DESIGN)
        _, original, output = run_child([str(work / "original_design.py"), str(folder), "256"], work)
        results["original_design_samples"] = int(output.split()[-1])
        results["original_design_MiB"] = round(original)
        results["ours_vs_original"] = round(ours / original, 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def matmul_flops_per_second(tf, size=2048, repeats=10, dtype="float32"):
    """This machine's measured rate of size x size matrix multiplies in dtype, FLOP/s."""
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    (a @ b).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        c = a @ b
    c.numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def with_keras_batch_normalization(model):
    """The same network with Keras's own BatchNormalization wherever it has the suite's fused one."""
    import keras

    from nuclei.model.layers import FusedBatchNormalization

    def clone(layer):
        kind = keras.layers.BatchNormalization if isinstance(layer, FusedBatchNormalization) else type(layer)
        return kind.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=clone)


def timed_steps(loop, iterator, steps, batch):
    """(images/s, the kernel's share of the CPU time, page faults per image) of steps training steps of the
    trainers' loop, after two untimed ones that trace it."""
    loop.run_epoch(iterator, 2, progress=False)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    loop.run_epoch(iterator, steps, progress=False)
    rate = steps * batch / (time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_SELF)
    kernel, user = after.ru_stime - before.ru_stime, after.ru_utime - before.ru_utime
    return (
        rate,
        round(kernel / max(kernel + user, 1e-9), 3),
        round((after.ru_minflt - before.ru_minflt) / (steps * batch)),
    )


def in_memory_fit_rate(model, images, targets, size, batch, steps):
    """Images per second of Keras's model.fit on the same augmented crops held in memory (the original's way)."""
    indices = [index % len(images) for index in range(steps * batch)]
    tensors = list(training_dataset(images, targets, indices, size, batch, 1))
    x = np.concatenate([t[0].numpy() for t in tensors])
    y = np.concatenate([t[1].numpy() for t in tensors])
    model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return len(x) / (time.perf_counter() - started)


def bench_training(folder, ids, size=128, batch=16, steps=8, precision="auto", batch_normalization="fused", xla="auto"):
    tf = runtime.import_tensorflow()
    import keras

    from nuclei.model.flops import forward_flops
    from nuclei.model.losses import bce_dice_loss, dice_coef
    from nuclei.model.unet import build_unet
    from nuclei.training.loop import TrainLoop

    samples, _ = load_samples(folder, ids[:160], progress=False)
    images, targets = prepare_for_training(samples)
    strategy = tf.distribute.get_strategy()
    keras.utils.set_random_seed(0)
    args = arguments.parse(
        arguments.make_parser(__doc__, "unused"),
        [str(size), "1", str(batch), "1e-3", "--mixed-precision", precision, "--xla", xla],
    )
    jit_compile = xla_compiles(args.xla)
    policy = set_compute_policy(args.mixed_precision)
    model = build_unet()
    if batch_normalization == "keras":
        model = with_keras_batch_normalization(model)
    model.compile(
        optimizer=new_adam(1e-3),
        loss=lambda truth, prediction: bce_dice_loss(truth, prediction, args.contact_weight),
        metrics=[dice_coef],
        jit_compile=jit_compile,
    )
    each_once, augmentation = list(range(len(images))), Augmentation(max_blur_sigma=args.max_blur)
    data = distributed_training_data(strategy, images, targets, each_once, size, batch, 0, augmentation)
    loop = TrainLoop(model, model.optimizer, strategy, jit_compile=jit_compile, contact_weight=args.contact_weight)
    pipeline_rate, kernel_fraction, page_faults = timed_steps(loop, iter(data), steps, batch)

    memory_rate = in_memory_fit_rate(model, images, targets, size, batch, steps)
    flops = forward_flops(build_unet(input_size=(size, size)))
    machine = matmul_flops_per_second(tf)
    achieved = 3 * flops * pipeline_rate
    return {
        "compute_policy": policy,
        "batch_normalization": batch_normalization,
        "xla": jit_compile,
        "crop_px": size,
        "batch": batch,
        "pipeline_images_per_s": round(pipeline_rate, 2),
        "in_memory_fit_images_per_s": round(memory_rate, 2),
        "pipeline_vs_in_memory": round(pipeline_rate / memory_rate, 3),
        "pipeline_kernel_cpu_fraction": kernel_fraction,
        "pipeline_page_faults_per_image": page_faults,
        "forward_GFLOP_per_image": round(flops / 1e9, 3),
        "training_GFLOP_per_image": round(3 * flops / 1e9, 3),
        "matmul_GFLOP_per_s": round(machine / 1e9, 1),
        "training_GFLOP_per_s": round(achieved / 1e9, 1),
        "fraction_of_matmul": round(achieved / machine, 3),
    }


def _compare_in_children(folder, variants, steps, ratio_name):
    """The training section once per variant {label: (environment, benchmark arguments)}, each in its own process.

    Returns {label_onednn_kernels, label_compute_policy, label_pipeline_images_per_s,
    label_pipeline_kernel_cpu_fraction, label_pipeline_page_faults_per_image, ..., ratio_name}:
    the ratio is the last variant's images/s over the first's.
    """
    work = Path(tempfile.mkdtemp(prefix="bench-children-"))
    results = {}
    try:
        for label, (env, args) in variants.items():
            out = work / f"{label}.json"
            command = [str(Path(__file__).resolve()), "--data", str(Path(folder).resolve()), "--only", "training"]
            command += ["--training-steps", str(steps), "--json", str(out), *args]
            run_child(command, work, env=env)
            child = json.loads(out.read_text())
            results[f"{label}_onednn_kernels"] = child["onednn_kernels"]
            for key in (
                "compute_policy",
                "batch_normalization",
                "xla",
                "pipeline_images_per_s",
                "pipeline_kernel_cpu_fraction",
                "pipeline_page_faults_per_image",
            ):
                results[f"{label}_{key}"] = child["training"][key]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first, *_, last = variants
    rate = "pipeline_images_per_s"
    results[ratio_name] = round(results[f"{last}_{rate}"] / results[f"{first}_{rate}"], 3)
    return results


def bench_allocator(folder, steps=30):
    """The training section with glibc's default malloc and with the suite's tuning, each in its own process."""
    variants = {
        "default_malloc": ({runtime.MALLOC_TUNING_VARIABLE: "0"}, FLOAT32),
        "tuned_malloc": ({runtime.MALLOC_TUNING_VARIABLE: "1"}, FLOAT32),
    }
    return _compare_in_children(folder, variants, steps, "tuned_vs_default")


def bench_onednn(folder, steps=30):
    """The training section with TensorFlow's oneDNN CPU kernels turned off and on (the suite's setting)."""
    variants = {
        "onednn_off": ({"TF_ENABLE_ONEDNN_OPTS": "0"}, FLOAT32),
        "onednn_on": ({"TF_ENABLE_ONEDNN_OPTS": "1"}, FLOAT32),
    }
    return _compare_in_children(folder, variants, steps, "on_vs_off")


def bench_precision(folder, steps=30):
    """The training section in float32 and in the 16-bit compute the trainers pick for this device."""
    variants = {"float32": ({}, FLOAT32), "mixed": ({}, ["--mixed-precision", "on"])}
    return _compare_in_children(folder, variants, steps, "mixed_vs_float32")


def bench_normalization(folder, steps=30):
    """The training section with Keras's BatchNormalization and with the fused one, in the trainers' precision."""
    variants = {name: ({}, ["--batch-normalization", name]) for name in BATCH_NORMALIZATIONS}
    return _compare_in_children(folder, variants, steps, "fused_vs_keras")


def bench_xla(folder, steps=30):
    """The training section with the step run op by op and compiled by XLA, in the trainers' precision."""
    variants = {"plain": ({}, ["--xla", "off"]), "compiled": ({}, ["--xla", "on"])}
    return _compare_in_children(folder, variants, steps, "compiled_vs_plain")


def bench_prediction(folder, ids, model_dir=None, count=120):
    tf = runtime.import_tensorflow()
    from nuclei.evaluation.scores import score_labels
    from nuclei.model.shape import SIZE_STEP
    from nuclei.model.unet import build_unet, float32_copy
    from nuclei.prediction.inference import pad_to_multiple, predict_probabilities
    from nuclei.prediction.instances import DEFAULT_POSTPROCESSING, label_nuclei

    samples, _ = load_samples(folder, ids[:count], progress=False)
    if model_dir:
        from nuclei.model.folder import load_model

        model = load_model(model_dir)
    else:
        model = float32_copy(build_unet())
        model(np.zeros((1, 32, 32, 3), np.float32))

    def finish(sample, probabilities):
        labels = label_nuclei(probabilities, DEFAULT_POSTPROCESSING)
        score_labels(sample.labels, labels)

    started = time.perf_counter()
    for sample in samples:
        padded, (height, width) = pad_to_multiple(model_input(sample.image), SIZE_STEP)
        probabilities = model.predict(padded[None], verbose=0)[0, :height, :width]
        finish(sample, probabilities)
    one_by_one = time.perf_counter() - started

    started = time.perf_counter()
    for index, probabilities in predict_probabilities(model, [s.image for s in samples], progress=False):
        finish(samples[index], probabilities)
    batched = time.perf_counter() - started

    started = time.perf_counter()
    for _ in predict_probabilities(model, [s.image for s in samples], progress=False):
        pass
    network_only = time.perf_counter() - started
    del tf
    return {
        "images": len(samples),
        "model": str(model_dir) if model_dir else "untrained",
        "one_predict_per_image_s": round(one_by_one, 2),
        "batched_s": round(batched, 2),
        "speed_up": round(one_by_one / batched, 2),
        "batched_network_only_s": round(network_only, 2),
        "speed_up_if_all_but_the_network_were_free": round(one_by_one / network_only, 2),
    }


def machine_description():
    return {
        "machine": platform.machine(),
        "processor_cores": os.cpu_count(),
        "python": platform.python_version(),
        "gpu": "none",
    }


def make_parser():
    """The benchmark's command line."""
    parser = cli.make_parser(__doc__)
    parser.add_argument("--data", default="stage1_train", help="labelled DSB folder")
    parser.add_argument("--model", help="trained model folder for the prediction section (default: untrained)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument("--json", default=str(PROJECT / "benchmarks" / "results.json"), help="where to save results")
    parser.add_argument(
        "--training-steps",
        type=cli.positive_int("--training-steps"),
        help="timed steps of the training section; unset: 8, and 30 in each child of allocator, onednn, precision"
        ", normalization and xla",
    )
    parser.add_argument(
        "--mixed-precision",
        choices=PRECISION_CHOICES,
        default="auto",
        help="the training section's compute precision, as the trainers' option",
    )
    parser.add_argument(
        "--batch-normalization",
        choices=BATCH_NORMALIZATIONS,
        default="fused",
        help="the training section's batch normalization: the suite's fused layer or Keras's own",
    )
    cli.add_switch(
        parser, "--xla", "the training section's XLA-compiled step, as the trainers' option", "on when a GPU is visible"
    )
    return parser


def main(argv=None):
    args = make_parser().parse_args(argv)

    def body(parsed):
        ids = without_known_bad(list_image_ids(parsed.data), log=lambda _: None)
        tf = runtime.import_tensorflow()
        results = {"machine": machine_description(), "tensorflow": tf.__version__}
        results["onednn_kernels"] = runtime.onednn_enabled()
        if tf.config.list_physical_devices("GPU"):
            results["machine"]["gpu"] = tf.config.experimental.get_device_details(
                tf.config.list_physical_devices("GPU")[0]
            ).get("device_name", "yes")
        runners = {
            "loading": lambda: bench_loading(parsed.data, ids),
            "memory": lambda: bench_memory(parsed.data),
            "training": lambda: bench_training(
                parsed.data,
                ids,
                steps=parsed.training_steps or 8,
                precision=parsed.mixed_precision,
                batch_normalization=parsed.batch_normalization,
                xla=parsed.xla,
            ),
            "prediction": lambda: bench_prediction(parsed.data, ids, parsed.model),
            "allocator": lambda: bench_allocator(parsed.data, steps=parsed.training_steps or 30),
            "onednn": lambda: bench_onednn(parsed.data, steps=parsed.training_steps or 30),
            "precision": lambda: bench_precision(parsed.data, steps=parsed.training_steps or 30),
            "normalization": lambda: bench_normalization(parsed.data, steps=parsed.training_steps or 30),
            "xla": lambda: bench_xla(parsed.data, steps=parsed.training_steps or 30),
        }
        for section in parsed.only:
            started = time.perf_counter()
            results[section] = runners[section]()
            print(f"\n{section} ({time.perf_counter() - started:.0f} s)")
            for key, value in results[section].items():
                print(f"  {key:44s} {value}")
        Path(parsed.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {parsed.json}")

    cli.run(body, args)


if __name__ == "__main__":
    main()
