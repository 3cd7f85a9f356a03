"""The learning-rate schedule a saved model's optimizer may hold: constant, then a cosine decay.

Registered with Keras (package "nuclei"), so that ``keras.saving.load_model``
finds it once this module is imported. nuclei.training.schedules decides when
a run uses it.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nuclei")
class HoldThenCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning_rate, then a cosine to alpha * learning_rate over the last anneal_fraction of total_steps.

    total_steps is a variable, read by the compiled training step, so that a
    run fitted into a time limit can end sooner (set_total_steps) without
    tracing its step again.
    """

    def __init__(self, learning_rate: float, total_steps: int, anneal_fraction: float, alpha: float):
        self.learning_rate = float(learning_rate)
        self.anneal_fraction = float(anneal_fraction)
        self.alpha = float(alpha)
        self._total_steps = keras.Variable(float(total_steps), dtype="float32", trainable=False, name="total_steps")

    @property
    def total_steps(self) -> int:
        return int(round(float(ops.convert_to_numpy(self._total_steps))))

    def set_total_steps(self, total_steps: int) -> None:
        self._total_steps.assign(float(total_steps))

    def __call__(self, step):
        total_steps = ops.convert_to_tensor(self._total_steps)
        anneal_steps = ops.maximum(total_steps * self.anneal_fraction, 1.0)
        progress = ops.clip((ops.cast(step, "float32") - (total_steps - anneal_steps)) / anneal_steps, 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        return self.learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "anneal_fraction": self.anneal_fraction,
            "alpha": self.alpha,
        }
