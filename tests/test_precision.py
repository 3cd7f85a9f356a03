"""How a training step computes (nuclei.training.precision): the 16-bit type each --mixed-precision choice takes."""

import pytest

from nuclei.training import arguments
from nuclei.training.precision import PRECISION_CHOICES, compute_policy


@pytest.mark.parametrize(
    ("choice", "gpu_visible", "cpu_has_bfloat16", "policy"),
    [
        ("auto", True, False, "mixed_float16"),
        ("auto", False, True, "mixed_bfloat16"),
        ("auto", False, False, "float32"),
        ("on", False, False, "mixed_bfloat16"),
        ("on", True, True, "mixed_float16"),
        ("off", True, True, "float32"),
        ("float16", False, True, "mixed_float16"),
        ("bfloat16", True, False, "mixed_bfloat16"),
    ],
)
def test_mixed_precision_takes_the_16_bit_type_of_the_device(choice, gpu_visible, cpu_has_bfloat16, policy):
    assert compute_policy(choice, gpu_visible, cpu_has_bfloat16) == policy


def test_mixed_precision_is_auto_unless_asked():
    parser = arguments.make_parser("doc", "my_model")
    command = ["32", "1", "2", "1e-3"]
    assert arguments.parse(parser, command).mixed_precision == "auto"
    for choice in PRECISION_CHOICES:
        assert arguments.parse(parser, [*command, "--mixed-precision", choice]).mixed_precision == choice


def test_a_resumed_checkpoint_reports_the_precision_it_was_trained_in():
    """A checkpoint keeps its layers' policy whatever --mixed-precision says now (runs resumed from a state
    that did not record it)."""
    from nuclei import runtime

    runtime.import_tensorflow()
    from nuclei.model.unet import build_unet
    from nuclei.training.precision import policy_scope
    from nuclei.training.run import compute_precision_of

    with policy_scope("mixed_bfloat16"):
        model = build_unet(input_size=(32, 32))
    assert compute_precision_of(model) == "mixed_bfloat16"
    assert compute_precision_of(build_unet(input_size=(32, 32))) == "float32"
