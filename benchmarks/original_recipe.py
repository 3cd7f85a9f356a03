"""The original recipe, re-created: squash, augmented copies, cross-entropy, threshold, connected components.

Usage::

    from original_recipe import OriginalRecipe, train_original, predict_labels
    recipe = OriginalRecipe(epochs=25)
    model = train_original(training_samples, recipe)
    labels = predict_labels(model, image, recipe)

What the project's quality issue measured as "the original recipe", the
competition repository's design that this suite replaces, written with the
suite's readers and U-Net so that its score compares with a model folder's on
the same validation images (``benchmarks/baseline.py --original-recipe``):

- every image resized to size x size (bilinear; its aspect ratio lost), RGB
  divided by 255; the union of its nucleus masks resized with it;
- each training image plus ``copies`` copies of it rotated by up to 40
  degrees (``cv2.warpAffine``, the corners black), made once before training;
- a U-Net with the suite's widths and one sigmoid output, binary
  cross-entropy, Adam, ``epochs`` passes over the shuffled copies;
- each image predicted at size x size, the probabilities resized back to the
  image's own size, thresholded at 0.5, 8-connected components as nuclei.

It computes in the suite's precision (``--mixed-precision auto``), so its
time compares with the trainers', not with the original's float32.
"""

import dataclasses

import numpy as np

MAX_ROTATION_DEGREES = 40.0


@dataclasses.dataclass(frozen=True)
class OriginalRecipe:
    """The original recipe's settings: square side in pixels, augmented copies per image, training schedule."""

    size: int = 128
    copies: int = 2
    epochs: int = 25
    batch_size: int = 16
    learning_rate: float = 1e-3
    threshold: float = 0.5

    def __post_init__(self):
        for name in ("size", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.copies < 0:
            raise ValueError(f"copies must be zero or more, got {self.copies}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must lie between 0 and 1, got {self.threshold}")


def squash_image(image, size):
    """An RGB uint8 image resized to size x size (bilinear), as float32 in [0, 1]."""
    import cv2

    return cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0


def squash_mask(labels, size):
    """The union of a label map's nuclei resized to size x size (bilinear, as the original), as float32 in [0, 1]."""
    import cv2

    return cv2.resize((labels > 0).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def rotated(array, angle_degrees):
    """array (H x W or H x W x C) rotated about its centre, the corners zero."""
    import cv2

    height, width = array.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_degrees, 1.0)
    return cv2.warpAffine(array, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)


def training_arrays(samples, recipe, rng):
    """(inputs N x S x S x 3, targets N x S x S x 1) of the squashed samples and their rotated copies, float32."""
    inputs, targets = [], []
    for sample in samples:
        image, mask = squash_image(sample.image, recipe.size), squash_mask(sample.labels, recipe.size)
        inputs.append(image)
        targets.append(mask)
        for _ in range(recipe.copies):
            angle = rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES)
            inputs.append(rotated(image, angle))
            targets.append(rotated(mask, angle))
    return np.stack(inputs), np.stack(targets)[..., None]


def train_original(samples, recipe, seed=0, verbose=1):
    """A U-Net trained by the original recipe on labelled samples; verbose as keras fit's, its seeds set beforehand."""
    import keras

    from nuclei.model.unet import build_unet

    inputs, targets = training_arrays(samples, recipe, np.random.default_rng(seed))
    model = build_unet(output_channels=1, name="original_recipe")
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss="binary_crossentropy")
    model.fit(
        inputs,
        targets,
        batch_size=recipe.batch_size,
        epochs=recipe.epochs,
        shuffle=True,
        verbose=verbose,
    )
    return model


def predict_labels(model, image, recipe):
    """Nuclei of an RGB uint8 image by the original recipe: predict squashed, resize back, threshold, label."""
    import cv2
    from scipy import ndimage

    squashed = squash_image(image, recipe.size)[None]
    probabilities = np.asarray(model.predict_on_batch(squashed), dtype=np.float32)[0, ..., 0]
    height, width = image.shape[:2]
    probabilities = cv2.resize(probabilities, (width, height), interpolation=cv2.INTER_LINEAR)
    labels, _ = ndimage.label(probabilities > recipe.threshold, structure=np.ones((3, 3)))
    return labels.astype(np.int32)
