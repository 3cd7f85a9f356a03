"""Preparing the process for TensorFlow, and what this machine offers it.

Usage (from a script, after its arguments are parsed)::

    tf = runtime.import_tensorflow()       # quiet, with the memory allocator tuned
    runtime.init_devices()                 # the devices, without their start-up lines
    runtime.cpu_has_bfloat16()             # whether 16-bit training is native here

Call ``import_tensorflow`` before importing any module that imports Keras:
the log level and the allocator must be set before TensorFlow starts.
benchmarks/README.md measures what each setting is worth.
"""

import contextlib
import ctypes
import os
import platform
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

MALLOC_SETTINGS = {
    "M_ARENA_MAX": (-8, 1),
    "M_TRIM_THRESHOLD": (-1, 2**31 - 1),
    "M_TOP_PAD": (-2, 256 << 20),
    "M_MMAP_THRESHOLD": (-3, 32 << 20),
}
"""glibc mallopt parameters (code, value) set before TensorFlow starts: one arena,
freed memory kept for reuse rather than given back to the kernel, the heap
grown 256 MiB at a time, and blocks up to 32 MiB taken from the heap.

TensorFlow on the CPU allocates and frees every activation of every step
through malloc; with glibc's defaults the freed pages go back to the kernel
and fault in again, one arena per thread. The benchmark's allocator section
measures the page faults and the speed with and without these settings."""
MALLOC_TUNING_VARIABLE = "NUCLEI_MALLOC_TUNING"
"""Set to 0 to leave glibc's malloc as it is."""


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ start-up log; call before the first `import tensorflow`.

    oneDNN, TensorFlow's optimised x86 CPU kernels, is left on: the log level
    already hides its start-up notice, and without it a training step on the
    CPU is much slower (the benchmark's onednn section).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def tune_malloc() -> list[str]:
    """Apply MALLOC_SETTINGS to glibc's malloc; returns the names that took effect.

    Nothing is done (and nothing returned) on other C libraries, when
    TensorFlow is already imported (its threads have their arenas), or when
    the environment variable NUCLEI_MALLOC_TUNING is 0.
    """
    if os.environ.get(MALLOC_TUNING_VARIABLE, "1") == "0" or "tensorflow" in sys.modules:
        return []
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return []
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return []
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return [name for name, (code, value) in MALLOC_SETTINGS.items() if mallopt(code, value) == 1]


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a while: TensorFlow's native start-up lines bypass Python."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> ModuleType:
    """Import TensorFlow without its start-up noise, the allocator tuned, and return it.

    Devices are not initialised here: a multi-worker strategy must be
    created before that (nuclei.training.distribution.make_strategy).
    """
    quiet_tensorflow()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    tune_malloc()
    with stderr_silenced():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return tf


def init_devices() -> list:
    """Initialise TensorFlow's devices without their start-up lines; returns the logical devices."""
    tf = import_tensorflow()
    with stderr_silenced():
        return tf.config.list_logical_devices()


def gpu_visible() -> bool:
    """Whether TensorFlow sees a GPU."""
    return bool(import_tensorflow().config.list_physical_devices("GPU"))


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (None where it cannot say).

    TensorFlow has no public accessor for this; the answer comes from its
    private ``_pywrap_util_port`` and is None when that module is gone.
    """
    import_tensorflow()
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def cpu_has_bfloat16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX-512 BF16 or AMX), from the kernel's CPU flags.

    False where the file is missing (not Linux): without the instructions
    bfloat16 is emulated and slower than float32.
    """
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", text) is not None
