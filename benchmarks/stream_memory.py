"""Peak memory of predicting many images: a lab's folder streamed a batch at a time, beside a DSB folder.

Usage::

    python benchmarks/stream_memory.py                          # 100 and 2,000 generated images, 128 px
    python benchmarks/stream_memory.py --counts 100 500 --size 256 --model my_model

Generates fluorescence-like images (nuclei.data.synthetic), once as a plain
folder of PNGs and once in the DSB layout, then runs
``generate_predictions.py --images`` on each in a fresh process and reads
that process's own peak resident memory (``os.wait4``). The plain folder is
read, predicted and written a batch at a time (nuclei.prediction.own_images);
a DSB folder is loaded whole first, as the original did. Flips and the size
probes are off by default (``--tta off --diameter off``): the subject is
memory, not the network's time. Prints a Markdown table.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent


def write_images(folder: Path, count: int, size: int, dsb: bool, seed: int = 0) -> Path:
    """count generated fluorescence images of size x size pixels, as plain PNGs or in the DSB layout."""
    import cv2

    from nuclei.data.synthetic import draw_labels, render, write_image_folder

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for index in range(count):
        image = render(rng, draw_labels(rng, (size, size)), "fluorescence")
        if dsb:
            write_image_folder(folder, f"image{index:05d}", image)
        else:
            cv2.imwrite(str(folder / f"image {index:05d}.png"), image[:, :, 0])
    return folder


def peak_memory(arguments: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak resident memory in MiB) of generate_predictions.py with arguments, in its own process."""
    command = [sys.executable, str(PROJECT / "generate_predictions.py"), *arguments]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(arguments)} failed: {process.stderr.read()[-2000:]}")
    peak_bytes = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return seconds, peak_bytes / 2**20


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 2000], help="numbers of images")
    parser.add_argument("--size", type=int, default=128, help="side of the generated images, pixels")
    parser.add_argument("--model", default=str(PROJECT / "models" / "dsb2018"), help="model folder")
    parser.add_argument("--work", help="folder for the generated images (default: a temporary one)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="stream_memory_"))
    options = ["--model", args.model, "--tta", "off", "--diameter", "off"]
    print("| images | layout | seconds | images/s | peak memory (MiB) |\n|---|---|---|---|---|")
    for count in args.counts:
        plain = write_images(work / f"plain{count}", count, args.size, dsb=False)
        dsb = write_images(work / f"dsb{count}", count, args.size, dsb=True)
        runs = {
            "plain folder, streamed": ["--images", str(plain), "--out", str(work / f"out{count}")],
            "DSB folder, loaded whole": ["--images", str(dsb)],
        }
        for layout, arguments in runs.items():
            seconds, mebibytes = peak_memory(["256", *arguments, *options], work)
            print(f"| {count} | {layout} | {seconds:.0f} | {count / seconds:.1f} | {mebibytes:.0f} |", flush=True)


if __name__ == "__main__":
    main()
