"""Shared fixtures: a generated sample, a way to run the scripts, a run's configuration, and the benchmarks' modules.

The suite is installed into the virtual environment (``pip install -e .``, as ``make`` does), so
``import nuclei`` works from anywhere; the scripts at the project's root are run as the user runs
them, in a subprocess.
"""

import dataclasses
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
BENCHMARKS = PROJECT / "benchmarks"
SHARED_ZIP = PROJECT.parent / "shared" / "data" / "stage1_train.zip"

needs_onednn = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN is TensorFlow's default on x86 only"
)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    """A generated DSB-like sample: stage1_train/ (9 labelled) and stage1_test/ (3), read-only by convention."""
    from nuclei.data.synthetic import make_sample

    return make_sample(tmp_path_factory.mktemp("sample"), train_count=9, test_count=3, seed=3)


@pytest.fixture(scope="session")
def shipped_keras_model():
    """The Keras model of the suite's shipped model folder (models/dsb2018), loaded once; not to be changed."""
    from nuclei import runtime

    runtime.import_tensorflow()
    from nuclei.model.folder import SHIPPED_MODEL_DIR, load_model

    return load_model(SHIPPED_MODEL_DIR)


def run_script(script, *args, cwd=None, env=None, timeout=600):
    """Run one of the project's scripts in a subprocess; returns the CompletedProcess (text)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(PROJECT / script), *map(str, args)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def benchmark_module(name):
    """A module of benchmarks/ (a folder of scripts, not a package), loaded from its file once.

    ``python benchmarks/baseline.py`` finds its sibling modules because Python puts the script's
    folder first on sys.path; the tests load them by path instead of adding that folder to it.
    """
    return _module_from_file(name, BENCHMARKS / f"{name}.py")


def script_module(name):
    """One of the scripts at the project's root (export_model, ...), loaded from its file once, to call its main."""
    return _module_from_file(name, PROJECT / f"{name}.py")


def _module_from_file(name, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def run_config(**fields):
    """The RunConfig (nuclei.training.config) of a small 5-epoch run, scored from its first, with fields replaced."""
    from nuclei.training.config import RunConfig

    run = RunConfig(
        script="trainer.py",
        arguments={},
        img_size=32,
        epochs=5,
        batch_size=4,
        learning_rate=1e-3,
        schedule="plateau",
        max_blur_sigma=0.0,
        contact_weight=5.0,
        boundary_width=2,
        seed=0,
        split_seed=0,
        sampling={},
        planned_epochs=5,
        first_scored_epoch=1,
    )
    return dataclasses.replace(run, **fields)
