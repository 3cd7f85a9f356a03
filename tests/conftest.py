"""Shared fixtures: the project on sys.path, a generated sample, and a way to run the scripts."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED_ZIP = PROJECT.parent / "shared" / "data" / "stage1_train.zip"
sys.path.insert(0, str(PROJECT))

needs_onednn = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN is TensorFlow's default on x86 only"
)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    """A generated DSB-like sample: stage1_train/ (9 labelled) and stage1_test/ (3), read-only by convention."""
    import make_sample

    return make_sample.make_sample(tmp_path_factory.mktemp("sample"), train_count=9, test_count=3, seed=3)


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
