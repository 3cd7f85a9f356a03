"""Bad arguments end with one clear line and a non-zero exit, before TensorFlow is even imported."""

import ast
import time

import pytest

from conftest import PROJECT, run_script

TRAINERS = ("trainer.py", "trainer_balanced_data.py")
USER_SCRIPTS = (*TRAINERS, "generate_predictions.py", "show_results.py", "export_model.py")


def one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    return lines[-1]


@pytest.mark.parametrize("script", TRAINERS)
@pytest.mark.parametrize(
    "args, message",
    [
        ((), "the following arguments are required"),
        (("64", "x", "8", "1e-3"), "EPOCHS must be a number, got 'x'"),
        (("64", "0", "8", "1e-3"), "EPOCHS must be positive"),
        (("64", "1", "-8", "1e-3"), "BATCH_SIZE must be positive"),
        (("64", "1", "8", "nan"), "LEARNING_RATE must be finite"),
        (("64", "1", "8", "0"), "LEARNING_RATE must be positive"),
        (("50", "1", "8", "1e-3"), "IMG_SIZE must be a multiple of 16"),
        (("16", "1", "8", "1e-3"), "at least 32"),
        (("64", "1", "8", "1e-3", "--val-fraction", "1.5"), "--val-fraction must lie between 0 and 1"),
        (("64", "1", "8", "1e-3", "--max-blur", "-1"), "--max-blur must be zero or more, got '-1'"),
        (("64", "1", "8", "1e-3", "--contact-weight", "inf"), "--contact-weight must be finite"),
        (("64", "1", "8", "1e-3", "--boundary-width", "0"), "--boundary-width must be positive, got '0'"),
        (("64", "5", "8", "1e-3", "--score-from", "6"), "--score-from 6 is after the last epoch, EPOCHS 5"),
        (("64", "5", "8", "1e-3", "--score-from", "first"), "--score-from must be a number, got 'first'"),
        (("64", "5", "8", "1e-3", "--time-limit", "0"), "--time-limit must be positive, got '0'"),
        (
            ("64", "5", "8", "1e-3", "--time-limit", "45", "--strategy", "multiworker"),
            "--time-limit cannot be used with --strategy multiworker",
        ),
    ],
)
def test_trainers_reject_bad_arguments(script, args, message, tmp_path):
    result = run_script(script, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in one_line_error(result)
    assert not list(tmp_path.iterdir()), "nothing may be written on bad arguments"


def test_missing_data_folder_is_one_line(tmp_path):
    result = run_script("trainer.py", "64", "1", "8", "1e-3", cwd=tmp_path)
    assert result.returncode == 1
    assert one_line_error(result) == "error: data folder stage1_train does not exist"
    assert not list(tmp_path.iterdir())


def test_bad_multipliers(tmp_path):
    result = run_script("trainer_balanced_data.py", "64", "1", "8", "1e-3", "--multipliers", "cats=2", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown image type 'cats'" in one_line_error(result)


@pytest.mark.parametrize("script", USER_SCRIPTS)
def test_help_is_instant_and_shows_defaults(script):
    started = time.perf_counter()
    result = run_script(script, "--help")
    elapsed = time.perf_counter() - started
    assert result.returncode == 0
    assert "usage:" in result.stdout and "(default:" in result.stdout
    assert "tensorflow" not in result.stderr.lower()
    print(f"{script} --help took {elapsed:.2f} s")


@pytest.mark.parametrize("script", USER_SCRIPTS)
def test_help_keeps_the_usage_lines_and_only_meaningful_defaults(script):
    docstring = ast.get_docstring(ast.parse((PROJECT / script).read_text()))
    usage_lines = [line.strip() for line in docstring.splitlines() if line.strip().startswith("python ")]
    result = run_script(script, "--help", env={"COLUMNS": "200"})
    help_lines = [line.strip() for line in result.stdout.splitlines()]
    assert usage_lines and all(line in help_lines for line in usage_lines)
    assert "(default: None)" not in result.stdout and "(default: False)" not in result.stdout
    assert not [line for line in help_lines if line.count("(default") > 1]


def test_predictions_without_a_model_folder(tmp_path):
    (tmp_path / "stage1_test" / "x" / "images").mkdir(parents=True)
    result = run_script("generate_predictions.py", "64", "--model", "nowhere", cwd=tmp_path)
    assert result.returncode == 1
    assert "model folder nowhere does not exist" in one_line_error(result)


def test_predictions_with_an_incomplete_model_folder(tmp_path):
    (tmp_path / "stage1_test" / "x" / "images").mkdir(parents=True)
    (tmp_path / "my_model").mkdir()
    (tmp_path / "my_model" / "config.json").write_text('{"img_size": 64}')
    result = run_script("generate_predictions.py", "64", cwd=tmp_path)
    assert result.returncode == 1
    assert "my_model is incomplete: missing model.keras" in one_line_error(result)


def test_an_argument_error_is_exactly_one_line(tmp_path):
    result = run_script("trainer.py", "64", "x", "8", "1e-3", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "trainer.py: error: argument EPOCHS: EPOCHS must be a number, got 'x' (see --help)"
    ]
