"""Fine-tuning against training from scratch on a lab's few annotated images of an image type the base model
never saw.

Usage::

    python benchmarks/fine_tune.py --data stage1_train_fixed --work fine_tune
    python benchmarks/fine_tune.py --data stage1_train_fixed --work fine_tune --counts 5 10 20 --minutes 10

The development images' histology is held out of a base model
(``trainer_balanced_data.py`` on every other image; ``--base`` reuses one).
A shuffled ``--counts`` of the histology images play the lab's annotations,
written as image + label-image pairs (``images/NAME.png``,
``masks/NAME.tif``); the remaining histology images, which no model here
trains on, are the test. For each count it trains, with ``--time-limit
MINUTES`` each, (b) the base model fine-tuned (``--init``) and (c) a model
from random weights on the same images, then scores (a) the base model as it
is, (b) and (c) on the test images with ``score_model.py`` (competition
score, Dice). Prints a Markdown table; every run's log and model folder stay
in ``--work``.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| heldout \| all \| (\d+) \| ([\d.]+) \| ([\d.]+) \|")


def make_folders(
    data: Path, work: Path, counts: list[int], seed: int, types: dict[str, str] | None = None
) -> tuple[Path, dict[int, Path], Path]:
    """(base training folder, {count: annotation folder}, test folder) under work, from data's DSB folders:
    links for the DSB layout, image + label-image pairs for the annotations. types: {ImageId: type}, by
    default cluster_df.csv's."""
    import cv2
    import tifffile

    from nuclei.data.dsb import list_image_ids, read_sample, without_known_bad
    from nuclei.data.image_types import read_cluster_table

    types = read_cluster_table() if types is None else types
    ids = without_known_bad(list_image_ids(data), log=lambda _: None)
    histology = [image_id for image_id in ids if types.get(image_id) == "histology"]
    histology = list(np.random.default_rng(seed).permutation(histology))
    base, test = work / "base_data", work / "heldout"
    for folder, members in ((base, [i for i in ids if i not in set(histology)]), (test, histology[max(counts) :])):
        folder.mkdir(parents=True, exist_ok=True)
        for image_id in members:
            link = folder / image_id
            if not link.exists():
                link.symlink_to((data / image_id).resolve(), target_is_directory=True)
    annotations = {}
    for count in counts:
        folder = annotations[count] = work / f"lab{count}"
        (folder / "images").mkdir(parents=True, exist_ok=True)
        (folder / "masks").mkdir(exist_ok=True)
        for image_id in histology[:count]:
            sample = read_sample(data, image_id)
            cv2.imwrite(str(folder / "images" / f"{image_id}.png"), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
            tifffile.imwrite(folder / "masks" / f"{image_id}.tif", sample.labels, compression="zlib")
    return base, annotations, test


def run_logged(command: list[str], log: Path, cwd: Path) -> float:
    """Run a suite script with its output in log; returns its wall time in seconds; exits naming log on failure."""
    started = time.perf_counter()
    with open(log, "w") as stream:
        status = subprocess.run([sys.executable, *command], cwd=cwd, stdout=stream, stderr=subprocess.STDOUT).returncode
    if status:
        raise SystemExit(f"{' '.join(command)} failed; see {log}")
    return time.perf_counter() - started


def score(model: Path, test: Path, work: Path) -> tuple[int, float, float]:
    """(images, competition score, Dice) of model on every image of test, as score_model.py predicts them."""
    command = [str(PROJECT / "benchmarks" / "score_model.py"), str(model), str(test), "--all-images"]
    run_logged(command, work / f"score_{model.name}.log", work)
    for line in (work / f"score_{model.name}.log").read_text().splitlines():
        if match := ROW.match(line):
            return int(match[1]), float(match[2]), float(match[3])
    raise SystemExit(f"no score in {work / f'score_{model.name}.log'}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="stage1_train_fixed", help="labelled DSB folder (development images)")
    parser.add_argument("--work", default="fine_tune", help="folder for the data links, runs and logs")
    parser.add_argument("--base", help="base model folder trained without histology; unset: train one")
    parser.add_argument("--base-epochs", type=int, default=30, help="epochs of the base model (128-px crops)")
    parser.add_argument("--counts", type=int, nargs="+", default=[10], help="numbers of annotated images")
    parser.add_argument("--minutes", type=float, default=10.0, help="--time-limit of each run on the annotations")
    parser.add_argument("--fine-tune-rate", default="1e-3", help="learning rate of the fine-tuning")
    parser.add_argument("--seed", type=int, default=0, help="seed of the choice of annotated images")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    base_data, annotations, test = make_folders(Path(args.data).resolve(), work, args.counts, args.seed)
    base = Path(args.base).resolve() if args.base else work / "base"
    if not args.base and not (base / "model.keras").is_file():
        command = [str(PROJECT / "trainer_balanced_data.py"), "128", str(args.base_epochs), "16", "1e-3"]
        seconds = run_logged([*command, "--data", str(base_data), "--out", str(base)], work / "base.log", work)
        print(f"base model: {seconds / 60:.0f} min, {len(list(base_data.iterdir()))} images without histology")
    rows = [("base model as it is", 0, "—", *score(base, test, work))]
    for count, folder in annotations.items():
        limit = ["--time-limit", str(args.minutes), "--steps-per-epoch", "25", "--data", str(folder)]
        runs = {
            f"fine-tuned from the base (--init, {args.fine_tune_rate})": (work / f"tuned{count}", args.fine_tune_rate),
            "from random weights (1e-3)": (work / f"scratch{count}", "1e-3"),
        }
        for name, (out, rate) in runs.items():
            command = [str(PROJECT / "trainer.py"), "128", "200", "8", rate, *limit, "--out", str(out)]
            command += ["--init", str(base)] if "fine-tuned" in name else []
            seconds = run_logged(command, work / f"{out.name}.log", work)
            rows.append((name, count, f"{seconds / 60:.1f}", *score(out, test, work)))
    print(f"\ntest: {len(list(test.iterdir()))} histology images no model here trained on\n")
    print("| model | annotated images | training (min) | test images | score | Dice |\n|---|---|---|---|---|---|")
    for name, count, minutes, images, competition, dice in rows:
        print(f"| {name} | {count} | {minutes} | {images} | {competition:.3f} | {dice:.3f} |")


if __name__ == "__main__":
    main()
