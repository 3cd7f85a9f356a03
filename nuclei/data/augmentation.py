"""The training crops' augmentation, on the fly inside tf.data: flips, rotation, zoom, blur and intensity.

Usage (inside a tf.data map)::

    image, target = augment(image, target, seed, crop_size=128, augmentation=Augmentation())

TensorFlow is imported by the functions, not the module, so that importing it
(and the data_preprocessing front module) stays instant.
"""

import math
from dataclasses import dataclass

MAX_ROTATION_DEGREES = 40.0
SCALE_RANGE = (0.75, 1.33)
"""Random zoom of training crops (above 1 enlarges), so that nucleus sizes the
data has few of, as in bright-field and histology images, are seen more often."""
NARROW_SCALE_RANGE = (0.75, 1.33)
"""The zoom range of the recipes before --zoom, with which their checkpoints were trained."""
GAMMA_RANGE = (0.5, 2.0)
"""Intensity augmentation: the crop's values v in [0, 1] become v ** gamma, gamma drawn log-uniformly here,
so that dim nuclei beside saturated debris (gamma above 1) and washed-out ones (below 1) are both seen."""
CONTRAST_RANGE = (0.7, 1.3)
BRIGHTNESS_SHIFT = 0.1
"""Intensity augmentation: then v * contrast + shift, shift drawn from -BRIGHTNESS_SHIFT to BRIGHTNESS_SHIFT."""
MAX_NOISE_SIGMA = 0.04
"""Intensity augmentation: then Gaussian noise of sigma drawn from 0 to this, in units of the [0, 1] range."""
GREY_PROBABILITY = 0.3
"""Intensity augmentation: the chance that a crop's colour channels are replaced by their mean."""
MAX_BLUR_SIGMA = 0.0
"""Largest sigma in pixels of the Gaussian blur of training crops (--max-blur); 0 is no blur.

The original blurred every crop with a sigma of up to 3 pixels; the images to
segment are sharp (docs/quality-log.md compares the two)."""
ORIGINAL_MAX_BLUR_SIGMA = 3.0
"""The original recipe's blur, with which checkpoints from before --max-blur were trained."""
BLUR_RADIUS = 9
"""Half-width in pixels of the blur's kernel: the margin rotated beyond a crop so that its edge blurs from real
neighbours (3 sigmas of the original's largest blur)."""


@dataclass(frozen=True)
class Augmentation:
    """How the training crops are varied beyond flips and rotation, as the trainers' options set it.

    max_blur_sigma: pixels (0: no blur); zoom_range: (low, high) factors
    (above 1 enlarges); intensity: whether gamma, contrast, brightness, noise
    and grey-level conversion vary (the ranges above).
    """

    max_blur_sigma: float = MAX_BLUR_SIGMA
    zoom_range: tuple[float, float] = SCALE_RANGE
    intensity: bool = False


DEFAULT_AUGMENTATION = Augmentation()


def _rotation_transform(tf, angle, size, output_size, zoom=1.0):
    """Projective transform (8 numbers) rotating a size x size image by angle radians and zooming it about its
    centre, into an output_size x output_size square centred on the input's centre.

    The transform maps output pixels to input pixels, hence the division by zoom.
    Computing only the output square, not the whole rotated window, is what
    keeps the augmentation cheap: a 128-pixel crop is a quarter of its window.
    """
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    centre_in = (tf.cast(size, tf.float32) - 1.0) / 2.0
    centre_out = (tf.cast(output_size, tf.float32) - 1.0) / 2.0
    x_offset = centre_in - (cos * centre_out - sin * centre_out)
    y_offset = centre_in - (sin * centre_out + cos * centre_out)
    return tf.stack([cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0])[None, :]


def _gaussian_blur(tf, image, sigma, radius=BLUR_RADIUS):
    """Blur an (H, W, C) float image with a Gaussian of sigma pixels; sigma ~ 0 is the identity."""
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    sigma = tf.maximum(sigma, 1e-3)
    kernel = tf.exp(-0.5 * tf.square(offsets / sigma))
    kernel = kernel / tf.reduce_sum(kernel)
    channels = tf.shape(image)[-1]
    horizontal = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    vertical = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
    batch = image[None]
    batch = tf.pad(batch, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="SYMMETRIC")
    batch = tf.nn.depthwise_conv2d(batch, horizontal, [1, 1, 1, 1], "VALID")
    batch = tf.nn.depthwise_conv2d(batch, vertical, [1, 1, 1, 1], "VALID")
    return batch[0]


def _vary_intensity(tf, image, seed):
    """Gamma, contrast, brightness, noise and (sometimes) grey levels of an (H, W, 3) float image in [0, 1]."""
    seeds = tf.random.experimental.stateless_split(seed, 6)
    log_low, log_high = (math.log(value) for value in GAMMA_RANGE)
    gamma = tf.exp(tf.random.stateless_uniform([], seeds[0], log_low, log_high))
    image = tf.pow(tf.maximum(image, 0.0), gamma)
    contrast = tf.random.stateless_uniform([], seeds[1], *CONTRAST_RANGE)
    shift = tf.random.stateless_uniform([], seeds[2], -BRIGHTNESS_SHIFT, BRIGHTNESS_SHIFT)
    image = image * contrast + shift
    sigma = tf.random.stateless_uniform([], seeds[3], 0.0, MAX_NOISE_SIGMA)
    image = image + sigma * tf.random.stateless_normal(tf.shape(image), seeds[5])
    grey = tf.random.stateless_uniform([], seeds[4]) < GREY_PROBABILITY
    mean = tf.broadcast_to(tf.reduce_mean(image, -1, keepdims=True), tf.shape(image))
    image = tf.where(grey, mean, image)
    return tf.clip_by_value(image, 0.0, 1.0)


def augment(image, target, seed, crop_size: int, augmentation: Augmentation = DEFAULT_AUGMENTATION, zoom: bool = True):
    """The training crops' augmentation, on the fly: flip, rotation up to 40 degrees, a zoom drawn
    log-uniformly from augmentation.zoom_range, when max_blur_sigma > 0 a Gaussian blur of sigma drawn
    uniformly from 0 to max_blur_sigma pixels (the original's was up to 3), and with intensity the
    changes of _vary_intensity.

    image: float32 (W, W, 3) in [0, 1]; target: float32 (W, W, C) of 0/1;
    seed: int (2,) for TensorFlow's stateless random ops. The target moves
    with the image, resampled bilinearly as the image is: a pixel that a
    transformed edge cuts gets the fraction of it inside, so each outline
    keeps its place to within a fraction of a pixel, where nearest-neighbour
    resampling moved it by up to half a pixel at random (docs/quality-log.md
    measures the difference). The target is never blurred. Both come back
    centre-cropped to crop_size.
    """
    from nuclei.runtime import import_tensorflow

    tf = import_tensorflow()
    seeds = tf.random.experimental.stateless_split(seed, 4)
    flip = tf.random.stateless_uniform([], seeds[0]) < 0.5
    image = tf.cond(flip, lambda: tf.reverse(image, [1]), lambda: image)
    target = tf.cond(flip, lambda: tf.reverse(target, [1]), lambda: target)
    limit = MAX_ROTATION_DEGREES * math.pi / 180.0
    angle = tf.random.stateless_uniform([], seeds[1], -limit, limit)
    window = tf.shape(image)[0]
    log_low, log_high = (math.log(value) for value in augmentation.zoom_range)
    scale = tf.exp(tf.random.stateless_uniform([], seeds[3], log_low, log_high)) if zoom else 1.0
    blur = augmentation.max_blur_sigma
    margin = BLUR_RADIUS if blur > 0 else 0
    output_size = crop_size + 2 * margin
    transform = _rotation_transform(tf, angle, window, output_size, scale)

    def rotate(array, interpolation):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=array[None],
            transforms=transform,
            output_shape=tf.constant([output_size, output_size]),
            fill_value=0.0,
            interpolation=interpolation,
            fill_mode="CONSTANT",
        )[0]

    image = rotate(image, "BILINEAR")
    target = rotate(target, "BILINEAR")
    if blur > 0:
        image = _gaussian_blur(tf, image, tf.random.stateless_uniform([], seeds[2], 0.0, blur))
    image = image[margin : margin + crop_size, margin : margin + crop_size]
    target = target[margin : margin + crop_size, margin : margin + crop_size]
    if augmentation.intensity:
        image = _vary_intensity(tf, image, tf.random.experimental.stateless_fold_in(seed, 1))
    image.set_shape([crop_size, crop_size, 3])
    target.set_shape([crop_size, crop_size, target.shape[-1]])
    return image, target
