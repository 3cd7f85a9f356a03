"""Command-line plumbing shared by every script of the suite.

Usage (from a script)::

    parser = cli.make_parser(__doc__)
    group = parser.add_argument_group("output")
    group.add_argument("--out", type=cli.positive_int("--out"), ...)
    args = parser.parse_args(argv)
    cli.run(body, args)

Argument types that reject bad values with one clear line, a help formatter
that keeps the docstring's usage lines and shows the defaults, and ``run``,
which turns the suite's own errors into one line on stderr and a non-zero
exit instead of a traceback.
"""

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

from nuclei.errors import UserError
from nuclei.model.shape import MODEL_DEPTH, SIZE_STEP


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


def make_parser(doc: str) -> argparse.ArgumentParser:
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


def positive_int(name: str) -> Callable[[str], int]:
    """Argument type: an integer greater than zero."""
    return _number_type(int, name)


def positive_float(name: str) -> Callable[[str], float]:
    """Argument type: a finite float greater than zero (rejects nan and inf)."""
    return _number_type(float, name)


def non_negative_float(name: str) -> Callable[[str], float]:
    """Argument type: a finite float of zero or more (rejects nan and inf)."""
    return _number_type(float, name, zero_allowed=True)


def image_size(text: str) -> int:
    """Argument type: a side length in pixels that the U-Net can take (a multiple of 16, at least 32)."""
    value = _number(text, int, "IMG_SIZE")
    if value % SIZE_STEP or value < 2 * SIZE_STEP:
        raise argparse.ArgumentTypeError(
            f"IMG_SIZE must be a multiple of {SIZE_STEP} and at least {2 * SIZE_STEP} "
            f"(the U-Net halves it {MODEL_DEPTH} times), got {text!r}"
        )
    return value


def zoom_range(text: str) -> tuple[float, float]:
    """argparse type of --zoom: "LOW,HIGH", two positive factors with LOW <= 1 <= HIGH."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--zoom must be LOW,HIGH (two numbers), got {text!r}") from None
    if not 0.25 <= low <= 1.0 <= high <= 4.0:
        raise argparse.ArgumentTypeError(f"--zoom needs 0.25 <= LOW <= 1 <= HIGH <= 4, got {text!r}")
    return low, high


def add_switch(parser: Any, option: str, what: str, automatic: str) -> None:
    """An ``--option auto|on|off`` (default auto); automatic says when auto means on. Read it with switch_is_on."""
    parser.add_argument(option, choices=("auto", "on", "off"), default="auto", help=f"{what}; auto: {automatic}")


def switch_is_on(value: str, automatic: bool) -> bool:
    """Whether an add_switch option is on, given whether auto means on here."""
    return value == "on" or (value == "auto" and automatic)


def run(body: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> Any:
    """Call body(args); report UserError as `error: ...` and Ctrl-C as an interruption, each with one line."""
    try:
        return body(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
