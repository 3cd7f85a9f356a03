"""Counting a model's arithmetic: floating-point operations of one forward pass.

Usage::

    flops = forward_flops(build_unet(input_size=(256, 256)))
"""

import keras
from keras import layers


def forward_flops(model: keras.Model) -> int:
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
