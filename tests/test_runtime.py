"""The process set-up that nuclei.runtime does before TensorFlow is imported, and what it reads of the machine."""

import os
import platform
import subprocess
import sys

import pytest

from conftest import needs_onednn
from nuclei import runtime


def tune_malloc_in_fresh_process(prelude="pass", switch=None):
    """runtime.tune_malloc()'s answer in a new interpreter (mallopt settings are per process)."""
    code = f"import sys; {prelude}; from nuclei import runtime; print(runtime.tune_malloc())"
    env = {name: value for name, value in os.environ.items() if name != runtime.MALLOC_TUNING_VARIABLE}
    if switch is not None:
        env[runtime.MALLOC_TUNING_VARIABLE] = switch
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt tuning is for glibc")
def test_malloc_is_tuned_before_tensorflow():
    assert tune_malloc_in_fresh_process() == str(list(runtime.MALLOC_SETTINGS))


def test_malloc_tuning_can_be_switched_off():
    assert tune_malloc_in_fresh_process(switch="0") == "[]"


def test_malloc_is_left_alone_once_tensorflow_runs():
    assert tune_malloc_in_fresh_process(prelude="sys.modules['tensorflow'] = sys") == "[]"


@needs_onednn
def test_tensorflow_starts_quietly_and_keeps_its_onednn_kernels():
    """Hiding the start-up notice must not turn oneDNN off: without it a CPU training step takes twice as long."""
    code = "from nuclei import runtime; runtime.import_tensorflow(); print(runtime.onednn_enabled())"
    quiet_names = ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL", "ABSL_MIN_LOG_LEVEL")
    env = {name: value for name, value in os.environ.items() if name not in quiet_names}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"
    assert result.stderr.strip() == ""


def test_bfloat16_instructions_are_read_from_the_cpu_flags(tmp_path):
    flags = {"with": "flags\t\t: fpu avx512f avx512_bf16 amx_tile\n", "without": "flags\t\t: fpu avx512f avx2\n"}
    for name, text in flags.items():
        (tmp_path / name).write_text(text)
    answers = {name: runtime.cpu_has_bfloat16(tmp_path / name) for name in (*flags, "missing")}
    assert answers == {"with": True, "without": False, "missing": False}
