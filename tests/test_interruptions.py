"""Interrupted training: kill -9 leaves the previous model folder alone, --resume continues, Ctrl-C is clean."""

import csv
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import PROJECT, run_script

pytestmark = pytest.mark.slow


def folder_digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _as_from_a_terminal():
    """A shell without job control starts background commands with SIGINT ignored, and the
    ignoring is inherited; a foreground command in a terminal has the default action."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_training(cwd, *args):
    return subprocess.Popen(
        [sys.executable, str(PROJECT / "trainer.py"), "32", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )


def wait_for_finished_epoch(work_dir, process, timeout=300):
    """Until the working folder's resume state (its config.json, rewritten after every epoch) keeps an epoch."""
    state = work_dir / "config.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if state.is_file() and json.loads(state.read_text())["trained_epochs"] >= 1:
            return
        time.sleep(0.2)
    raise AssertionError(f"no epoch finished; exit {process.poll()}")


@pytest.fixture
def workdir(sample_dir, tmp_path):
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_sigkill_keeps_previous_model_and_resume_continues(workdir):
    first = run_script("trainer.py", "32", "1", "4", "1e-3", cwd=workdir)
    assert first.returncode == 0, first.stderr[-2000:]
    previous = folder_digest(workdir / "my_model")
    first_val_ids = json.loads((workdir / "my_model" / "config.json").read_text())["val_ids"]

    process = start_training(
        workdir,
        "1000",
        "4",
        "1e-3",
        "--max-blur",
        "1.5",
        "--contact-weight",
        "2",
        "--boundary-width",
        "1",
        "--seed",
        "5",
        "--split-seed",
        "42",
        "--schedule",
        "plateau",
    )
    wait_for_finished_epoch(workdir / "my_model.partial", process)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert folder_digest(workdir / "my_model") == previous
    assert not (workdir / "my_model.partial" / "checkpoint.json").exists(), "the resume state is config.json"
    state = json.loads((workdir / "my_model.partial" / "config.json").read_text())
    best_epochs = {
        int(path.name.split(".")[0][len("best-epoch") :])
        for path in (workdir / "my_model.partial").glob("best-epoch*.weights.h5")
    }
    named = state["best_epoch"]
    assert named in best_epochs, "the best weights the state names survive the kill"
    assert all(epoch > state["trained_epochs"] for epoch in best_epochs - {named}), (
        "any other best weights are an unfinished epoch's, written before a state the kill prevented"
    )

    resumed = run_script("trainer.py", "32", "3", "4", "1e-3", "--resume", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from epoch" in resumed.stdout
    assert not (workdir / "my_model.partial").exists()
    config = json.loads((workdir / "my_model" / "config.json").read_text())
    assert config["epochs"] == 3
    kept = (config["max_blur_sigma"], config["contact_weight"], config["boundary_width"])
    assert kept == (1.5, 2.0, 1), "a resumed run keeps its own training"
    assert (config["seed"], config["split_seed"]) == (5, 42)
    assert config["val_ids"] == first_val_ids, "the split follows --split-seed, not --seed"
    with open(workdir / "my_model" / "history.csv") as stream:
        epochs = [int(row["epoch"]) for row in csv.DictReader(stream)]
    assert epochs == sorted(set(epochs)) and epochs[-1] == 2


def test_resume_without_an_interrupted_run_is_one_line(workdir):
    result = run_script("trainer.py", "32", "2", "4", "1e-3", "--resume", cwd=workdir)
    assert result.returncode == 1
    assert "nothing to resume" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_stops_cleanly_after_saving(workdir):
    process = start_training(workdir, "1000", "4", "1e-3")
    wait_for_finished_epoch(workdir / "my_model.partial", process)
    process.send_signal(signal.SIGINT)
    output, errors = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Traceback" not in errors
    assert "continue with --resume" in output
    assert (workdir / "my_model.partial" / "checkpoint.keras").is_file()
    assert not (workdir / "my_model").exists()
