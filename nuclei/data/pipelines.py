"""The training and validation input pipelines (tf.data), from labelled samples to batches.

Usage::

    images, targets = prepare_for_training(samples)
    dataset = training_dataset(images, targets, sample_indices, crop_size=128, batch_size=16, seed=0)
    distributed = distributed_training_data(strategy, images, targets, sample_indices, 128, 16, seed=0)

Crops are cut in a generator (nuclei.data.crops), augmented in parallel map
calls (nuclei.data.augmentation) and prefetched. TensorFlow is imported by the
functions, not the module.
"""

import numpy as np

from nuclei.data.augmentation import DEFAULT_AUGMENTATION, Augmentation, augment
from nuclei.data.crops import CropSource
from nuclei.data.dsb import Sample
from nuclei.data.normalisation import normalise_image
from nuclei.data.targets import BOUNDARY_WIDTH, make_targets
from nuclei.errors import UserError
from nuclei.runtime import import_tensorflow


def prepare_for_training(
    samples: list[Sample], boundary_width: int = BOUNDARY_WIDTH
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Normalised images and training targets of labelled samples, as uint8 arrays (a quarter of float32);
    boundary_width in pixels, as make_targets' width."""
    images = [normalise_image(sample.image) for sample in samples]
    targets = [make_targets(sample.labels, boundary_width) for sample in samples]
    return images, targets


def training_dataset(
    images, targets, sample_indices, crop_size, batch_size, seed, repeat=False, augmentation=DEFAULT_AUGMENTATION
):
    """A tf.data pipeline of augmented crops, one per entry of sample_indices, reshuffled every epoch.

    sample_indices may repeat an image to draw it several times per epoch
    (the balanced trainer does). Cropping happens in a generator, the
    augmentation in parallel map calls; batches are prefetched. With repeat
    the epochs follow each other without end, each in a new order.
    """
    tf = import_tensorflow()
    source = CropSource(images, targets, crop_size, seed, min_zoom=augmentation.zoom_range[0])
    window = source.window
    channels = targets[0].shape[-1]
    dataset = tf.data.Dataset.from_generator(
        source.stream(sample_indices),
        output_signature=(
            tf.TensorSpec([window, window, 3], tf.uint8),
            tf.TensorSpec([window, window, channels], tf.uint8),
            tf.TensorSpec([2], tf.int64),
        ),
    )

    def to_float_and_augment(image, target, crop_seed):
        image = tf.cast(image, tf.float32) / 255.0
        target = tf.cast(target, tf.float32)
        return augment(image, target, crop_seed, crop_size, augmentation)

    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(sample_indices)))
    dataset = dataset.map(to_float_and_augment, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def validation_dataset(images, targets, crop_size, batch_size, seed):
    """Fixed (seeded once, cached) unaugmented crops of the validation images, for Keras' val metrics."""
    tf = import_tensorflow()
    source = CropSource(images, targets, crop_size, seed)
    offset = (source.window - crop_size) // 2
    crops = [source.crop(index) for index in range(len(images))]
    inner = slice(offset, offset + crop_size)
    image_batch = np.stack([image[inner, inner] for image, _ in crops]).astype(np.float32) / 255.0
    target_batch = np.stack([target[inner, inner] for _, target in crops]).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((image_batch, target_batch))
    return dataset.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)


def distributed_training_data(
    strategy,
    images,
    targets,
    sample_indices,
    crop_size: int,
    batch_size: int,
    seed: int,
    augmentation: Augmentation,
):
    """A per-worker pipeline of the worker's share of sample_indices, repeated, the global batch split."""
    tf = import_tensorflow()

    def dataset_fn(context):
        try:
            batch = context.get_per_replica_batch_size(batch_size)
        except ValueError:
            raise UserError(
                f"BATCH_SIZE {batch_size} is not divisible by the {strategy.num_replicas_in_sync} replicas"
            ) from None
        share = sample_indices[context.input_pipeline_id :: context.num_input_pipelines]
        pipeline_seed = seed + 1000 * context.input_pipeline_id
        return training_dataset(
            images, targets, share, crop_size, batch, pipeline_seed, repeat=True, augmentation=augmentation
        )

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(dataset_fn, options)
