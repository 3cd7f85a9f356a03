"""The functional U-Net builder, its losses and its metrics: the original's module, kept for its users.

Usage::

    import trainer_functional as tfn
    model = tfn.build_unet()                        # any input size that is a multiple of 16
    tfn.compile_unet(model, "adam")                 # the suite's loss and metrics

The pieces live in the ``nuclei.model`` package (``unet``, ``layers``,
``losses``, ``learning_rate``); this module presents them under the names the original taught.
Importing it registers every custom object a saved model may name (the
fused batch normalization, the loss, the metrics and the learning-rate
schedule), so ``keras.saving.load_model`` finds them without
``custom_objects``. Importing it imports Keras (and with it TensorFlow).
"""

from nuclei.model.flops import forward_flops
from nuclei.model.layers import FusedBatchNormalization
from nuclei.model.learning_rate import HoldThenCosine
from nuclei.model.losses import SMOOTH, bce_dice_loss, dice_coef, iou_coef
from nuclei.model.unet import BATCH_NORM_MOMENTUM, DEFAULT_FILTERS, build_unet, compile_unet, float32_copy

__all__ = [
    "BATCH_NORM_MOMENTUM",
    "DEFAULT_FILTERS",
    "SMOOTH",
    "FusedBatchNormalization",
    "HoldThenCosine",
    "bce_dice_loss",
    "build_unet",
    "compile_unet",
    "dice_coef",
    "float32_copy",
    "forward_flops",
    "iou_coef",
]
