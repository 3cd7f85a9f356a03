"""Command-line plumbing shared by every script of the suite.

Usage (from a script)::

    parser = cli.make_parser(__doc__)
    ...
    cli.run(main_body, argv)

It owns the things that every script needs the same way: argument types
that reject bad values with one clear line, preparing the process for
TensorFlow before it is imported (quiet start-up, a memory allocator tuned
for its large short-lived tensors), and turning the suite's own errors into
one line on stderr and a non-zero exit instead of a traceback.
"""

import argparse
import contextlib
import ctypes
import math
import os
import platform
import re
import sys
from pathlib import Path

MODEL_DEPTH = 4
"""Number of 2x poolings in the U-Net: image sizes must be multiples of 2**MODEL_DEPTH."""


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser that reports a bad argument in one line, without the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows the docstring as written, so its usage lines stay lines, and each default that says something.

    An unset option (default None), a switch (default False) and a help text that already
    states its default get no "(default: ...)" of their own.
    """

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def make_parser(doc):
    """An ArgumentParser whose description is the script's docstring and whose help shows defaults."""
    return OneLineErrorParser(description=doc, formatter_class=HelpFormatter)


def _number(text, kind, name, zero_allowed=False):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{name} must be finite, got {text!r}")
    if value < 0 or (value == 0 and not zero_allowed):
        raise argparse.ArgumentTypeError(
            f"{name} must be {'zero or more' if zero_allowed else 'positive'}, got {text!r}"
        )
    return value


def _number_type(kind, name, zero_allowed=False):
    def parse(text):
        return _number(text, kind, name, zero_allowed)

    parse.__name__ = name
    return parse


def positive_int(name):
    """Argument type: an integer greater than zero."""
    return _number_type(int, name)


def positive_float(name):
    """Argument type: a finite float greater than zero (rejects nan and inf)."""
    return _number_type(float, name)


def non_negative_float(name):
    """Argument type: a finite float of zero or more (rejects nan and inf)."""
    return _number_type(float, name, zero_allowed=True)


def image_size(text):
    """Argument type: a side length in pixels that the U-Net can take (a multiple of 16, at least 32)."""
    value = _number(text, int, "IMG_SIZE")
    step = 2**MODEL_DEPTH
    if value % step or value < 2 * step:
        raise argparse.ArgumentTypeError(
            f"IMG_SIZE must be a multiple of {step} and at least {2 * step} "
            f"(the U-Net halves it {MODEL_DEPTH} times), got {text!r}"
        )
    return value


def add_switch(parser, option, what, automatic):
    """An ``--option auto|on|off`` (default auto); automatic says when auto means on. Read it with switch_is_on."""
    parser.add_argument(option, choices=("auto", "on", "off"), default="auto", help=f"{what}; auto: {automatic}")


def switch_is_on(value, automatic):
    """Whether an add_switch option is on, given whether auto means on here."""
    return value == "on" or (value == "auto" and automatic)


def quiet_tensorflow():
    """Silence TensorFlow's C++ start-up log; call before the first `import tensorflow`.

    oneDNN, TensorFlow's optimised x86 CPU kernels, is left on: the log level
    already hides its start-up notice, and with TF_ENABLE_ONEDNN_OPTS=0 a
    training step on the CPU takes about twice as long (benchmarks/README.md).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


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
and fault in again, one arena per thread: 642 page faults per trained image
instead of 12, and 8 % slower training (with oneDNN off, a third of the CPU
time went to the kernel). The benchmark's allocator section measures the
difference (benchmarks/README.md holds the figures)."""
MALLOC_TUNING_VARIABLE = "NUCLEI_MALLOC_TUNING"


def tune_malloc():
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
def stderr_silenced():
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


def import_tensorflow():
    """Import TensorFlow without its start-up noise and return it.

    Devices are not initialised here: a multi-worker strategy must be
    created before that (distribution.make_strategy).
    """
    quiet_tensorflow()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    tune_malloc()
    with stderr_silenced():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    return tf


def onednn_enabled():
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (None where it cannot say)."""
    import_tensorflow()
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def cpu_has_bfloat16(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU computes in bfloat16 natively (AVX-512 BF16 or AMX), from the kernel's CPU flags.

    False where the file is missing (not Linux): without the instructions
    bfloat16 is emulated and slower than float32.
    """
    try:
        cpuinfo = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) is not None


def init_devices():
    """Initialise TensorFlow's devices without their start-up lines; returns the logical devices."""
    tf = import_tensorflow()
    with stderr_silenced():
        return tf.config.list_logical_devices()


def run(body, args):
    """Call body(args); report UserError as `error: ...` and Ctrl-C as an interruption, each with one line."""
    try:
        return body(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
