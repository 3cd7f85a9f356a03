"""The U-Net's loss and metrics, written with keras.ops.

Registered with Keras (package "nuclei"), so that ``keras.saving.load_model``
finds them once this module is imported, without ``custom_objects``.
"""

import keras
from keras import ops

SMOOTH = 1.0
"""Pixels added to both sides of every Dice and IoU, so that empty crops score 1 rather than 0/0."""


def _soft_dice(y_true, y_pred):
    """Soft Dice of one channel over a whole batch, smoothed by SMOOTH pixels."""
    intersection = ops.sum(y_true * y_pred)
    return (2.0 * intersection + SMOOTH) / (ops.sum(y_true) + ops.sum(y_pred) + SMOOTH)


@keras.saving.register_keras_serializable(package="nuclei")
def dice_coef(y_true, y_pred):
    """Soft Dice of the nucleus channel (channel 0), over the batch."""
    y_true = ops.cast(y_true, y_pred.dtype)
    return _soft_dice(y_true[..., 0], y_pred[..., 0])


@keras.saving.register_keras_serializable(package="nuclei")
def iou_coef(y_true, y_pred):
    """IoU of the nucleus channel thresholded at 0.5, over the batch, smoothed by SMOOTH pixels."""
    truth = ops.cast(y_true[..., 0] > 0.5, "float32")
    prediction = ops.cast(y_pred[..., 0] > 0.5, "float32")
    intersection = ops.sum(truth * prediction)
    union = ops.sum(truth) + ops.sum(prediction) - intersection
    return (intersection + SMOOTH) / (union + SMOOTH)


@keras.saving.register_keras_serializable(package="nuclei")
def bce_dice_loss(y_true, y_pred, contact_weight=0.0):
    """Binary cross-entropy over all predicted channels plus (1 - soft Dice) of each.

    The Dice terms keep the rare foreground (and the thin rims)
    from being drowned by the background, which plain BCE lets happen.
    y_true may carry one channel more than y_pred, where touching nuclei part
    (nuclei.data.targets.TRAINING_TARGET_CHANNELS): there each pixel's
    cross-entropy counts 1 + contact_weight times, as in the original U-Net's
    weight map, so that the few pixels that keep two nuclei apart are not
    outweighed by the many that are easy.
    """
    channels = y_pred.shape[-1]
    y_true = ops.cast(y_true, y_pred.dtype)
    pixel_bce = keras.losses.binary_crossentropy(y_true[..., :channels], y_pred)
    if contact_weight and y_true.shape[-1] > channels:
        weights = 1.0 + contact_weight * y_true[..., channels]
        bce = ops.sum(weights * pixel_bce) / ops.sum(weights)
    else:
        bce = ops.mean(pixel_bce)
    dice_terms = [1.0 - _soft_dice(y_true[..., c], y_pred[..., c]) for c in range(channels)]
    return bce + ops.sum(ops.stack(dice_terms))
