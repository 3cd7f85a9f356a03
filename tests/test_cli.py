"""The scripts' command-line plumbing (nuclei.cli): argument types, switches, help and one-line errors.

test_command_line.py runs the scripts themselves; these drive the pieces directly.
"""

import argparse

import pytest

from nuclei import cli
from nuclei.errors import UserError
from nuclei.model.shape import MODEL_DEPTH, SIZE_STEP


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (cli.positive_int, "x", "EPOCHS must be a number, got 'x'"),
        (cli.positive_int, "0", "EPOCHS must be positive, got '0'"),
        (cli.positive_int, "1.5", "EPOCHS must be a number, got '1.5'"),
        (cli.positive_float, "nan", "EPOCHS must be finite, got 'nan'"),
        (cli.positive_float, "-inf", "EPOCHS must be finite, got '-inf'"),
        (cli.non_negative_float, "-1", "EPOCHS must be zero or more, got '-1'"),
    ],
)
def test_argument_types_refuse_bad_values_in_one_sentence(kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        kind("EPOCHS")(text)
    assert str(caught.value) == message


def test_argument_types_take_good_values():
    assert cli.positive_int("N")("3") == 3
    assert cli.positive_float("N")("1e-3") == 1e-3
    assert cli.non_negative_float("N")("0") == 0.0


def test_image_sizes_are_multiples_the_u_net_can_halve():
    assert cli.image_size("48") == 48 and cli.image_size(str(2 * SIZE_STEP)) == 2 * SIZE_STEP
    for text in ("50", "16"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"halves it {MODEL_DEPTH} times"):
            cli.image_size(text)


@pytest.mark.parametrize(
    ("value", "automatic", "on"),
    [("auto", True, True), ("auto", False, False), ("on", False, True), ("off", True, False)],
)
def test_a_switch_is_on_when_asked_or_when_auto_means_on(value, automatic, on):
    assert cli.switch_is_on(value, automatic) is on


def test_help_shows_the_docstring_as_written_and_only_the_defaults_that_say_something(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    parser = cli.make_parser("Do a thing.\n\nUsage::\n\n    python thing.py 3\n    python thing.py 3 --fast\n")
    parser.add_argument("--count", type=int, default=5, help="how many")
    parser.add_argument("--name", help="a name; unset: none")
    parser.add_argument("--fast", action="store_true", help="go fast")
    parser.add_argument("--mode", default="a", help="the mode (default: a, or b when fast)")
    cli.add_switch(parser, "--xla", "compiled steps", "on when a GPU is visible")
    text = parser.format_help()
    assert "    python thing.py 3\n    python thing.py 3 --fast\n" in text
    assert "(default: 5)" in text and "(default: auto)" in text and "auto: on when a GPU is visible" in text
    assert (
        "(default: None)" not in text
        and "(default: False)" not in text
        and text.count("(default: a, or b when fast)") == 1
    )


def test_a_bad_argument_is_one_line_and_exit_status_2(capsys):
    parser = cli.make_parser("doc")
    parser.add_argument("epochs", metavar="EPOCHS", type=cli.positive_int("EPOCHS"))
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["0"])
    assert caught.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{parser.prog}: error: argument EPOCHS: EPOCHS must be positive, got '0' (see --help)"
    ]


def test_run_turns_the_suites_errors_and_ctrl_c_into_one_line(capsys):
    def fails(args):
        raise UserError(f"data folder {args.data} does not exist")

    def interrupted(args):
        raise KeyboardInterrupt

    args = argparse.Namespace(data="stage1_train")
    assert cli.run(lambda parsed: parsed.data, args) == "stage1_train"
    for body, status, line in (
        (fails, 1, "error: data folder stage1_train does not exist"),
        (interrupted, 130, "interrupted"),
    ):
        with pytest.raises(SystemExit) as caught:
            cli.run(body, args)
        assert caught.value.code == status
        assert capsys.readouterr().err == line + "\n"
