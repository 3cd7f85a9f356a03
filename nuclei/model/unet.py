"""The U-Net, built with the Keras 3 functional API, and compiled with the suite's loss and metrics.

Usage::

    from nuclei.model.unet import build_unet, compile_unet
    model = build_unet()                            # any input size that is a multiple of 16
    compile_unet(model, "adam")

The network is fully convolutional: it takes (H, W, 3) images in [0, 1] with
H and W multiples of 16, and returns per-pixel probabilities for the channels
in nuclei.data.targets.TARGET_CHANNELS. The original's ``down()`` discarded
its first convolution (its result was overwritten); here every stage has its
two, and a residual shortcut around them.
"""

import keras
from keras import layers

from nuclei.data.targets import TARGET_CHANNELS
from nuclei.model.layers import FusedBatchNormalization
from nuclei.model.losses import bce_dice_loss, dice_coef, iou_coef
from nuclei.model.shape import DEFAULT_FILTERS, MODEL_DEPTH

BATCH_NORM_MOMENTUM = 0.9
"""Keras's default of 0.99 leaves the inference statistics far from the batch ones for the first
few hundred steps, which is a whole short training run here: validation loss then jumps."""


def _normalised_conv(tensor, filters, kernel_size, name, norm_name):
    """A bias-free convolution and its fused batch normalization, the unit every stage is built of."""
    tensor = layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False, kernel_initializer="he_normal", name=name
    )(tensor)
    return FusedBatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=norm_name)(tensor)


def _conv_block(tensor, filters, stage):
    """Two 3x3 convolutions, each batch-normalised, and a residual shortcut.

    The shortcut, a 1x1 convolution of the block's input (a projection, as
    every block changes the width), is added before the second ReLU, as in
    He et al.'s ResNet: the network is too small to overfit in the CPU
    budget, and the shortcut makes it learn more per epoch (docs/quality-log.md
    measures how much).
    """
    shortcut = _normalised_conv(tensor, filters, 1, f"{stage}_shortcut", f"{stage}_shortcut_bn")
    tensor = _normalised_conv(tensor, filters, 3, f"{stage}_conv1", f"{stage}_bn1")
    tensor = layers.Activation("relu", name=f"{stage}_relu1")(tensor)
    tensor = _normalised_conv(tensor, filters, 3, f"{stage}_conv2", f"{stage}_bn2")
    tensor = layers.Add(name=f"{stage}_residual")([tensor, shortcut])
    return layers.Activation("relu", name=f"{stage}_relu2")(tensor)


def build_unet(
    filters: tuple[int, ...] = DEFAULT_FILTERS,
    output_channels: int = len(TARGET_CHANNELS),
    name: str = "unet",
    input_size: tuple[int | None, int | None] = (None, None),
) -> keras.Model:
    """A U-Net with len(filters) - 1 down and up stages and a sigmoid output per channel.

    Layers are named by stage: ``down1_conv1`` ... ``bottom_conv2`` ...
    ``up1_conv2``, ``output``; each stage's shortcut ``down1_shortcut`` and
    its sum ``down1_residual``. The output is float32 even under mixed precision.
    input_size (height, width) fixes the input's size; the default takes any.
    """
    if len(filters) != MODEL_DEPTH + 1:
        raise ValueError(f"filters must list {MODEL_DEPTH + 1} widths, got {len(filters)}")
    inputs = keras.Input(shape=(*input_size, 3), name="image")
    skips = []
    tensor = inputs
    for depth, width in enumerate(filters[:-1], start=1):
        tensor = _conv_block(tensor, width, f"down{depth}")
        skips.append(tensor)
        tensor = layers.MaxPooling2D(2, name=f"down{depth}_pool")(tensor)
    tensor = _conv_block(tensor, filters[-1], "bottom")
    for depth in range(len(filters) - 1, 0, -1):
        width = filters[depth - 1]
        tensor = layers.Conv2DTranspose(width, 2, strides=2, padding="same", name=f"up{depth}_upsample")(tensor)
        tensor = layers.Concatenate(name=f"up{depth}_concat")([tensor, skips[depth - 1]])
        tensor = _conv_block(tensor, width, f"up{depth}")
    outputs = layers.Conv2D(output_channels, 1, activation="sigmoid", dtype="float32", name="output")(tensor)
    return keras.Model(inputs, outputs, name=name)


def compile_unet(model: keras.Model, optimizer) -> None:
    """Compile model with the suite's loss (bce_dice_loss) and metrics (Dice and IoU of the nuclei)."""
    model.compile(optimizer=optimizer, loss=bce_dice_loss, metrics=[dice_coef, iou_coef])


def float32_copy(model: keras.Model) -> keras.Model:
    """The same network with the same weights, computing in float32, not compiled.

    A model folder keeps this copy of a model trained in 16 bits, so that it
    predicts at full precision on any device: float16 and bfloat16 are slow
    where the hardware lacks them. Uncompiled, it carries no optimizer state
    into the folder (Keras's clone_model compiles and builds one).
    """

    def in_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        copy = keras.models.clone_model(model, clone_function=in_float32)
        copy = keras.Model.from_config(copy.get_config())
    finally:
        keras.mixed_precision.set_global_policy(policy)
    copy.set_weights(model.get_weights())
    return copy
