"""DSB loading and augmentation: the original's module, kept for its users.

Usage::

    import data_preprocessing as dp
    ids = dp.list_image_ids("stage1_train")
    samples, skipped = dp.load_samples("stage1_train", ids)
    images, targets = dp.prepare_for_training(samples)
    dataset = dp.training_dataset(images, targets, sample_indices, crop_size=256, batch_size=16, seed=0)

The pieces live in the ``nuclei.data`` package, one concern a module: the
folder layout (``dsb``), loading many images through a cache (``loading``,
``cache``), training targets (``targets``), normalisation
(``normalisation``), crops (``crops``), augmentation (``augmentation``) and
the ``tf.data`` pipelines (``pipelines``). This module presents them under
the names the original taught. Importing it stays instant: TensorFlow is
imported by the functions that build pipelines.
"""

from nuclei.data.augmentation import (
    BLUR_RADIUS,
    MAX_BLUR_SIGMA,
    MAX_ROTATION_DEGREES,
    ORIGINAL_MAX_BLUR_SIGMA,
    SCALE_RANGE,
    augment,
)
from nuclei.data.cache import CACHE_FORMAT, DEFAULT_CACHE_DIR, data_fingerprint
from nuclei.data.crops import CropSource
from nuclei.data.dsb import (
    KNOWN_BAD_IMAGE_IDS,
    Sample,
    check_image_id,
    image_path,
    list_image_ids,
    read_image,
    read_labels,
    read_sample,
    without_known_bad,
)
from nuclei.data.loading import load_samples
from nuclei.data.normalisation import model_input, normalise_image
from nuclei.data.pipelines import prepare_for_training, training_dataset, validation_dataset
from nuclei.data.targets import (
    BOUNDARY_WIDTH,
    TARGET_CHANNELS,
    TRAINING_TARGET_CHANNELS,
    make_targets,
    nucleus_boundary,
    nucleus_contact,
)
from nuclei.errors import DataError
from nuclei.options import add_cache_options as add_cache_arguments
from nuclei.options import cache_dir_of
from nuclei.prediction.inference import pad_to_multiple

__all__ = [
    "BLUR_RADIUS",
    "BOUNDARY_WIDTH",
    "CACHE_FORMAT",
    "DEFAULT_CACHE_DIR",
    "ORIGINAL_MAX_BLUR_SIGMA",
    "KNOWN_BAD_IMAGE_IDS",
    "MAX_BLUR_SIGMA",
    "MAX_ROTATION_DEGREES",
    "SCALE_RANGE",
    "TARGET_CHANNELS",
    "TRAINING_TARGET_CHANNELS",
    "CropSource",
    "DataError",
    "Sample",
    "add_cache_arguments",
    "augment",
    "cache_dir_of",
    "check_image_id",
    "data_fingerprint",
    "image_path",
    "list_image_ids",
    "load_samples",
    "make_targets",
    "model_input",
    "normalise_image",
    "nucleus_boundary",
    "nucleus_contact",
    "pad_to_multiple",
    "prepare_for_training",
    "read_image",
    "read_labels",
    "read_sample",
    "training_dataset",
    "validation_dataset",
    "without_known_bad",
]
