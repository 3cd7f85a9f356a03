"""How a training step computes: in 16 or 32 bits (--mixed-precision), compiled by XLA or not (--xla).

Usage::

    policy = compute_policy("auto", gpu_visible(), cpu_has_bfloat16())   # "float32", "mixed_bfloat16", ...
    with policy_scope(policy):
        model = build_unet()
        optimizer = new_adam(1e-3)

The saved model always computes in float32 (nuclei.model.unet.float32_copy),
so its predictions need no special hardware. benchmarks/README.md measures
what each choice is worth on the CPU.
"""

import contextlib
from collections.abc import Iterator

from nuclei.cli import switch_is_on
from nuclei.runtime import cpu_has_bfloat16, gpu_visible

PRECISION_CHOICES = ("auto", "on", "off", "float16", "bfloat16")


def compute_policy(choice: str, gpu: bool, cpu_bfloat16: bool) -> str:
    """The Keras dtype policy for a --mixed-precision choice: "float32", "mixed_float16" or "mixed_bfloat16".

    "on" takes this device's 16-bit type: float16 on a GPU, bfloat16 on a CPU.
    "auto" does so only where the hardware computes it natively (a GPU, or a
    CPU with bfloat16 instructions); elsewhere float32, since emulated 16-bit
    arithmetic is slower.
    """
    if choice == "off":
        return "float32"
    if choice in ("float16", "bfloat16"):
        return f"mixed_{choice}"
    if choice == "auto" and not (gpu or cpu_bfloat16):
        return "float32"
    return "mixed_float16" if gpu else "mixed_bfloat16"


def set_compute_policy(choice: str) -> str:
    """Set Keras's global dtype policy for a --mixed-precision choice on this machine; returns its name."""
    import keras

    policy = compute_policy(choice, gpu_visible(), cpu_has_bfloat16())
    keras.mixed_precision.set_global_policy(policy)
    return policy


@contextlib.contextmanager
def policy_scope(policy: str) -> Iterator[str]:
    """Keras's global dtype policy set to policy within the block, and the caller's restored after it."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield policy
    finally:
        keras.mixed_precision.set_global_policy(previous)


def xla_compiles(choice: str) -> bool:
    """Whether an --xla choice compiles the training step on this machine: auto only where a GPU is visible,
    as XLA's CPU step is slower than TensorFlow's (the benchmark's xla section)."""
    return switch_is_on(choice, gpu_visible())


def new_adam(learning_rate):
    """Adam, with loss scaling when the global policy computes in float16, whose range loses small gradients."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate)
    if keras.mixed_precision.global_policy().compute_dtype == "float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
