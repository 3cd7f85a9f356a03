"""The U-Net, its loss and its metrics, built with the Keras 3 functional API.

Usage::

    import trainer_functional as tfn
    model = tfn.build_unet()                        # any input size that is a multiple of 16
    tfn.compile_unet(model, "adam")                 # the suite's loss and metrics

The network is fully convolutional: it takes (H, W, 3) images in [0, 1] with
H and W multiples of 16, and returns per-pixel probabilities for the channels
in data_preprocessing.TARGET_CHANNELS. The original's ``down()`` discarded its
first convolution (its result was overwritten); here every stage has its two,
and a residual shortcut around them.

The batch normalization layer, the loss, the metrics and the learning-rate
schedule that a saved optimizer may hold are registered Keras objects, so
``keras.saving.load_model`` finds them once this module is imported, without
``custom_objects``. Model folders saved before the fused layer existed hold
Keras's own BatchNormalization and load as they are.

Importing this module imports Keras (and with it TensorFlow).
"""

import math

import keras
from keras import layers, ops

from cli import MODEL_DEPTH

DEFAULT_FILTERS = (16, 32, 64, 128, 256)
SMOOTH = 1.0
BATCH_NORM_MOMENTUM = 0.9
"""Keras's default of 0.99 leaves the inference statistics far from the batch ones for the first
few hundred steps, which is a whole short training run here: validation loss then jumps."""


@keras.saving.register_keras_serializable(package="nuclei")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's BatchNormalization computed by TensorFlow's fused kernel on 4-D channels-last tensors.

    Keras 3 normalises in separate float32 operations (cast, mean, variance,
    scale, cast back), each a pass over the tensor and its gradient; on a CPU
    in bfloat16 that was half of every training step (36 ms against 5 ms,
    forward and backward, for a batch of 16 x 128 x 128 x 16). The fused
    kernel takes the 16-bit tensor as it is and computes its statistics in
    float32. Same weights, configuration and moving statistics as the Keras
    layer; anything else it does not cover (a mask, renormalisation, another
    backend or layout) goes to the Keras layer.
    """

    def _fusable(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and self.scale
            and self.center
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        gamma, beta = ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32")
        if training and self.trainable:
            outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), "float32")
            variance = unbiased_variance * (count - 1.0) / count
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs,
                gamma,
                beta,
                mean=ops.cast(self.moving_mean, "float32"),
                variance=ops.cast(self.moving_variance, "float32"),
                epsilon=self.epsilon,
                is_training=False,
            )
        return ops.cast(outputs, self.compute_dtype)


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
    budget, and the shortcut makes it learn more per epoch (docs/quality-log.md).
    """
    shortcut = _normalised_conv(tensor, filters, 1, f"{stage}_shortcut", f"{stage}_shortcut_bn")
    tensor = _normalised_conv(tensor, filters, 3, f"{stage}_conv1", f"{stage}_bn1")
    tensor = layers.Activation("relu", name=f"{stage}_relu1")(tensor)
    tensor = _normalised_conv(tensor, filters, 3, f"{stage}_conv2", f"{stage}_bn2")
    tensor = layers.Add(name=f"{stage}_residual")([tensor, shortcut])
    return layers.Activation("relu", name=f"{stage}_relu2")(tensor)


def build_unet(filters=DEFAULT_FILTERS, output_channels=2, name="unet", input_size=(None, None)):
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


def compile_unet(model, optimizer):
    """Compile model with the suite's loss (bce_dice_loss) and metrics (Dice and IoU of the nuclei)."""
    model.compile(optimizer=optimizer, loss=bce_dice_loss, metrics=[dice_coef, iou_coef])


def float32_copy(model):
    """The same network with the same weights, computing in float32.

    A model folder keeps this copy of a model trained in 16 bits, so that it
    predicts at full precision on any device: float16 and bfloat16 are slow
    where the hardware lacks them.
    """

    def in_float32(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        copy = keras.models.clone_model(model, clone_function=in_float32)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    copy.set_weights(model.get_weights())
    return copy


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
    (data_preprocessing.TRAINING_TARGET_CHANNELS): there each pixel's
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


def forward_flops(model):
    """Multiply-adds x 2 of one forward pass, from the convolutions of a model built with a fixed input_size."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2DTranspose):
            _, height, width, channels_in = layer.input.shape
            total += 2 * height * width * channels_in * layer.filters * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, layers.Conv2D):
            _, height, width, channels_out = layer.output.shape
            channels_in = layer.input.shape[-1]
            total += 2 * height * width * channels_in * channels_out * layer.kernel_size[0] * layer.kernel_size[1]
    return total


@keras.saving.register_keras_serializable(package="nuclei")
class HoldThenCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Constant learning_rate, then a cosine to alpha * learning_rate over the last anneal_fraction of total_steps.

    total_steps is a variable, read by the compiled training step, so that a
    run fitted into a time limit can end sooner (set_total_steps) without
    tracing its step again.
    """

    def __init__(self, learning_rate, total_steps, anneal_fraction, alpha):
        self.learning_rate = float(learning_rate)
        self.anneal_fraction = float(anneal_fraction)
        self.alpha = float(alpha)
        self._total_steps = keras.Variable(float(total_steps), dtype="float32", trainable=False, name="total_steps")

    @property
    def total_steps(self):
        return int(round(float(ops.convert_to_numpy(self._total_steps))))

    def set_total_steps(self, total_steps):
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
