"""Reading the Data Science Bowl 2018 folder layout, and the training input pipeline.

Usage::

    import data_preprocessing as dp
    ids = dp.list_image_ids("stage1_train")
    samples, skipped = dp.load_samples("stage1_train", ids)
    images, targets = dp.prepare_for_training(samples)
    dataset = dp.training_dataset(images, targets, sample_indices, crop_size=256, batch_size=16, seed=0)

The layout is ``<folder>/<ImageId>/images/<ImageId>.png`` plus, for labelled
sets, ``<folder>/<ImageId>/masks/*.png`` with one PNG per nucleus. Images come
as grey, RGB, RGBA, 8- or 16-bit PNGs; everything is returned as RGB uint8.
Nothing here ever writes into a data folder.

TensorFlow is imported only by the functions that build pipelines, so that
importing this module stays instant.
"""

import hashlib
import math
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from cli import UserError

KNOWN_BAD_IMAGE_IDS = frozenset({"7b38c9173ebe69b4c6ba7e703c0c27f39305d9b2910f46405993d2ea7a963b80"})
"""Images whose competition masks are wrong; they are left out of training and scoring."""

TARGET_CHANNELS = ("nucleus", "boundary")
"""Channels the U-Net predicts: the union of nuclei, and the inner rim of every nucleus.

A rim around every nucleus, rather than only where two touch, is a wide,
visible target that a short training learns; two touching nuclei are then
kept apart by both their rims, which the seeded watershed needs."""

TRAINING_TARGET_CHANNELS = (*TARGET_CHANNELS, "contact")
"""Channels of the training targets: those predicted, then where touching nuclei part
(nucleus_contact), which only weights the loss (trainer_functional.bce_dice_loss)."""

BOUNDARY_WIDTH = 2
"""Width in pixels of the boundary channel's rim, inside each nucleus, and of the band where
touching nuclei part (--boundary-width). With 1 the README's recipe scored no better over
its last epochs, on two seeds and two splits (docs/quality-log.md)."""

MAX_ROTATION_DEGREES = 40.0
SCALE_RANGE = (0.75, 1.33)
"""Random zoom of training crops (above 1 enlarges), so that nucleus sizes the
data has few of, as in bright-field and histology images, are seen more often."""
MAX_BLUR_SIGMA = 0.0
"""Largest sigma in pixels of the Gaussian blur of training crops (--max-blur); 0 is no blur.

The original blurred every crop with a sigma of up to 3 pixels; the images to
segment are sharp, and without the blur the validation score was as good or
a little better (`docs/quality-log.md`)."""
ORIGINAL_MAX_BLUR_SIGMA = 3.0
"""The original recipe's blur, with which checkpoints from before --max-blur were trained."""
BLUR_RADIUS = 9
"""Half-width in pixels of the blur's kernel: the margin rotated beyond a crop so that its edge blurs from real
neighbours (3 sigmas of the original's largest blur)."""
CACHE_FORMAT = 1
DEFAULT_CACHE_DIR = "dsb_cache"
"""Decoded images are cached here, in the current directory, unless --no-cache is given."""
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class DataError(Exception):
    """One image of a data folder cannot be used; the message names the image id."""


@dataclass
class Sample:
    """One image of a DSB folder: RGB uint8 pixels and, for labelled sets, the instance labels.

    ``labels`` is a uint16 map of the image's size: 0 is background, 1..N one
    nucleus each, in the sorted order of the mask files.
    """

    image_id: str
    image: np.ndarray
    labels: np.ndarray | None = None


def check_image_id(image_id):
    """Return image_id if it is a plain folder name; raise UserError for ids that would escape a folder."""
    if not isinstance(image_id, str) or not _SAFE_ID.match(image_id) or ".." in image_id:
        raise UserError(f"invalid ImageId {image_id!r}: must be a plain folder name")
    return image_id


def list_image_ids(folder):
    """Sorted image ids (sub-folder names) of a DSB folder; UserError if it is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"data folder {folder} does not exist")
    ids = sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and _SAFE_ID.match(entry.name)
    )
    if not ids:
        raise UserError(f"data folder {folder} holds no image folders")
    return ids


def without_known_bad(ids, log=print):
    """The ids minus KNOWN_BAD_IMAGE_IDS, printing a note for each one left out."""
    kept = []
    for image_id in ids:
        if image_id in KNOWN_BAD_IMAGE_IDS:
            log(f"note: leaving out {image_id}: its competition mask is known to be wrong")
        else:
            kept.append(image_id)
    return kept


def image_path(folder, image_id):
    return Path(folder) / image_id / "images" / f"{image_id}.png"


def read_image(path):
    """Read any PNG of the set (grey, RGB, RGBA; 8 or 16 bit) as an RGB uint8 array of shape (H, W, 3)."""
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else None
    image = None if data is None or data.size == 0 else cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataError(f"{path}: missing or not a readable image")
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
        image = image.astype(np.uint8)
    elif image.dtype != np.uint8:
        raise DataError(f"{path}: unsupported pixel type {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_labels(folder, image_id, shape):
    """Instance labels of one image from its ``masks/*.png``: uint16, 1..N in sorted file order.

    Where masks overlap, the first mask keeps the pixel. Raises DataError
    naming the image id when a mask cannot be read or its shape differs from
    the image's (height, width), or when there are no masks.
    """
    mask_paths = sorted((Path(folder) / image_id / "masks").glob("*.png"))
    if not mask_paths:
        raise DataError(f"{image_id}: no masks in {Path(folder) / image_id / 'masks'}")
    if len(mask_paths) >= np.iinfo(np.uint16).max:
        raise DataError(f"{image_id}: too many masks ({len(mask_paths)})")
    labels = np.zeros(shape, dtype=np.uint16)
    for number, mask_path in enumerate(mask_paths, start=1):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise DataError(f"{image_id}: mask {mask_path.name} is not a readable image")
        if mask.shape != tuple(shape):
            raise DataError(
                f"{image_id}: mask {mask_path.name} is {mask.shape[1]}x{mask.shape[0]} "
                f"but the image is {shape[1]}x{shape[0]}"
            )
        left, top, width, height = cv2.boundingRect(mask)
        box = labels[top : top + height, left : left + width]
        box[(mask[top : top + height, left : left + width] > 0) & (box == 0)] = number
    return labels


def read_sample(folder, image_id, with_labels=True):
    """One Sample; DataError (naming the id) if the image or its masks cannot be used."""
    image = read_image(image_path(folder, image_id))
    labels = read_labels(folder, image_id, image.shape[:2]) if with_labels else None
    return Sample(image_id, image, labels)


def data_fingerprint(folder, ids, with_labels=True):
    """A short hash of the names, sizes and modification times of the PNGs of the given images.

    Any added, removed, replaced or edited image or mask changes it. It only
    stats the files (os.scandir), so it costs a fraction of a second for the
    whole competition set.
    """
    digest = hashlib.sha256(f"{with_labels}|{CACHE_FORMAT}\n".encode())
    for image_id in ids:
        for part in ("images", "masks") if with_labels else ("images",):
            try:
                entries = sorted(os.scandir(Path(folder) / image_id / part), key=lambda entry: entry.name)
            except (FileNotFoundError, NotADirectoryError):
                digest.update(f"{image_id}/{part} missing\n".encode())
                continue
            for entry in entries:
                stat = entry.stat()
                digest.update(f"{image_id}/{part}/{entry.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _cache_path(cache_dir, folder, ids, with_labels):
    name = Path(folder).resolve().name
    return Path(cache_dir) / f"{name}-{data_fingerprint(folder, ids, with_labels)}"


def _write_cache(path, samples, skipped):
    """Concatenate the decoded arrays into images.npy / labels.npy plus index.json, in a folder swapped in whole."""
    import json
    import shutil
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        index = {"ids": [], "shapes": [], "skipped": skipped, "with_labels": samples[0].labels is not None}
        image_total = sum(sample.image.size for sample in samples)
        images = np.lib.format.open_memmap(work / "images.npy", mode="w+", dtype=np.uint8, shape=(image_total,))
        labels = None
        if index["with_labels"]:
            label_total = sum(sample.labels.size for sample in samples)
            labels = np.lib.format.open_memmap(work / "labels.npy", mode="w+", dtype=np.uint16, shape=(label_total,))
        image_offset = label_offset = 0
        for sample in samples:
            images[image_offset : image_offset + sample.image.size] = sample.image.ravel()
            image_offset += sample.image.size
            if labels is not None:
                labels[label_offset : label_offset + sample.labels.size] = sample.labels.ravel()
                label_offset += sample.labels.size
            index["ids"].append(sample.image_id)
            index["shapes"].append(list(sample.image.shape))
        images.flush()
        del images, labels
        (work / "index.json").write_text(json.dumps(index))
        for stale in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*"):
            if stale.is_dir() and stale != path:
                shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(work, path)
        except OSError:
            if not (path / "index.json").is_file():
                raise
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _read_cache(path):
    """Samples whose arrays are read-only views into the memory-mapped cache files, and the skipped list."""
    import json

    index = json.loads((path / "index.json").read_text())
    images = np.load(path / "images.npy", mmap_mode="r")
    labels = np.load(path / "labels.npy", mmap_mode="r") if index["with_labels"] else None
    samples, image_offset, label_offset = [], 0, 0
    for image_id, shape in zip(index["ids"], index["shapes"]):
        size = int(np.prod(shape))
        image = images[image_offset : image_offset + size].reshape(shape)
        image_offset += size
        sample_labels = None
        if labels is not None:
            sample_labels = labels[label_offset : label_offset + size // 3].reshape(shape[:2])
            label_offset += size // 3
        samples.append(Sample(image_id, image, sample_labels))
    return samples, [tuple(item) for item in index["skipped"]]


def load_samples(folder, ids, with_labels=True, workers=None, progress=True, log=None, cache_dir=None):
    """Read many images in parallel threads, with a progress bar, through an optional cache.

    Returns ``(samples, skipped)``: the usable Samples in the order of ids,
    and ``(image_id, reason)`` for each image skipped because of bad data
    (corrupt PNG, missing image, no masks, mask of the wrong size), each
    also reported through log as a warning.

    With cache_dir, the decoded arrays are kept in
    ``<cache_dir>/<folder name>-<fingerprint>/`` and read back memory-mapped
    the next time; a change to any PNG changes the fingerprint, and the
    stale cache of that folder is removed when the new one is written.
    The cache is only a copy: deleting it is always safe.
    """
    from tqdm import tqdm

    if log is None:

        def log(text):
            tqdm.write(text, file=sys.stderr)

    cache_path = _cache_path(cache_dir, folder, ids, with_labels) if cache_dir else None
    if cache_path is not None and (cache_path / "index.json").is_file():
        samples, skipped = _read_cache(cache_path)
        for image_id, reason in skipped:
            log(f"warning: skipping {image_id}: {reason}")
        return samples, skipped

    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    samples, skipped = [], []

    def load_one(image_id):
        try:
            return read_sample(folder, image_id, with_labels)
        except DataError as error:
            return error

    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(load_one, ids)
        for image_id, result in tqdm(
            zip(ids, results), total=len(ids), desc="loading images", unit="img", disable=not progress
        ):
            if isinstance(result, DataError):
                log(f"warning: skipping {image_id}: {result}")
                skipped.append((image_id, str(result)))
            else:
                samples.append(result)
    if cache_path is not None and samples:
        _write_cache(cache_path, samples, skipped)
    return samples, skipped


def add_cache_arguments(parser):
    """--cache DIR and --no-cache, for the scripts that read a labelled folder."""
    parser.add_argument("--cache", default=DEFAULT_CACHE_DIR, help="folder for the decoded-image cache")
    parser.add_argument("--no-cache", action="store_true", help="decode the PNGs every time, keep no cache")


def cache_dir_of(args):
    return None if args.no_cache else args.cache


_NO_NUCLEUS = np.iinfo(np.int32).max


def _labels_near(labels, width, background=True):
    """Largest and smallest label within width pixels (chessboard distance) of each pixel, as int32 arrays.

    Without background the smallest is that of the nuclei alone: _NO_NUCLEUS where none is near.
    """
    labels = labels.astype(np.int32)
    footprint = np.ones((2 * width + 1, 2 * width + 1), dtype=bool)
    eroded = labels if background else np.where(labels > 0, labels, _NO_NUCLEUS)
    largest = ndimage.grey_dilation(labels, footprint=footprint)
    return largest, ndimage.grey_erosion(eroded, footprint=footprint, mode="nearest")


def nucleus_boundary(labels, width=BOUNDARY_WIDTH):
    """Pixels of a nucleus within width pixels (chessboard distance) of anything else: background or another nucleus."""
    largest_near, smallest_near = _labels_near(labels, width)
    return (labels > 0) & ((largest_near > labels) | (smallest_near < labels))


def nucleus_contact(labels, width=BOUNDARY_WIDTH):
    """Pixels, of a nucleus or of the background, with two different nuclei within width pixels
    (chessboard distance): where touching or nearly touching nuclei part."""
    largest_near, smallest_nucleus_near = _labels_near(labels, width, background=False)
    return (smallest_nucleus_near < _NO_NUCLEUS) & (largest_near > smallest_nucleus_near)


def make_targets(labels, width=BOUNDARY_WIDTH):
    """The training target from instance labels: uint8 (H, W, 3) of 0/1, channels TRAINING_TARGET_CHANNELS;
    width in pixels, of the rim and of the band where nuclei part."""
    channels = [labels > 0, nucleus_boundary(labels, width), nucleus_contact(labels, width)]
    return np.stack(channels, axis=-1).astype(np.uint8)


def normalise_image(image):
    """Make every image type look alike to the network: RGB uint8 in, RGB uint8 out.

    Bright-background images (bright-field and stained histology, whose
    nuclei are dark) are inverted so that nuclei are always brighter than
    the background, then the intensities are stretched so that the 1st
    percentile maps to 0 and the 99.9th to 255.
    """
    pixels = image.astype(np.float32)
    if np.median(pixels.mean(axis=2)) > 127.5:
        pixels = 255.0 - pixels
    low, high = np.percentile(pixels, (1.0, 99.9))
    scale = 255.0 / max(high - low, 25.0)
    return np.clip((pixels - low) * scale, 0, 255).round().astype(np.uint8)


def model_input(image):
    """The exact float32 input the U-Net was trained on, from an RGB uint8 image: values in [0, 1]."""
    return normalise_image(image).astype(np.float32) / 255.0


def pad_to_multiple(array, multiple):
    """Zero-pad the first two axes at the bottom and right up to a multiple; returns (padded, (h, w))."""
    height, width = array.shape[:2]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        pad = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (array.ndim - 2)
        array = np.pad(array, pad)
    return array, (height, width)


def _cut_window(array, top, left, size):
    """The size x size window of array whose corner is (top, left), zero where it leaves array."""
    window = np.zeros((size, size, *array.shape[2:]), dtype=array.dtype)
    rows = slice(max(top, 0), min(top + size, array.shape[0]))
    columns = slice(max(left, 0), min(left + size, array.shape[1]))
    window[rows.start - top : rows.stop - top, columns.start - left : columns.stop - left] = array[rows, columns]
    return window


class CropSource:
    """Random training crops from prepared images, drawn in the order a sampler gives.

    Each crop is a window of ``ceil(crop_size * sqrt(2) / SCALE_RANGE[0])``
    pixels square, so that the crop_size square that ``augment`` samples from
    its centre, rotated by up to MAX_ROTATION_DEGREES and at the strongest
    zoom-out, never reaches beyond it. The window's centre is drawn where a
    crop_size square around it lies in the image (the image's centre where it
    is smaller), so every pixel of the image can be trained on; the window is
    zero-padded where it leaves the image, which after normalisation is
    background.
    """

    def __init__(self, images, targets, crop_size, seed):
        self.images = images
        self.targets = targets
        self.crop_size = crop_size
        self.window = int(math.ceil(crop_size * math.sqrt(2) / SCALE_RANGE[0] / 2)) * 2
        self.rng = np.random.default_rng(seed)

    def _centre(self, length):
        half = self.crop_size // 2
        if length <= self.crop_size:
            return length // 2
        return int(self.rng.integers(half, length - half + 1))

    def crop(self, index):
        image, target = self.images[index], self.targets[index]
        height, width = image.shape[:2]
        top = self._centre(height) - self.window // 2
        left = self._centre(width) - self.window // 2
        return _cut_window(image, top, left, self.window), _cut_window(target, top, left, self.window)

    def stream(self, sample_indices):
        """A generator factory: each call yields one epoch of (image, target, seed) in a new order."""

        def epoch():
            for index in self.rng.permutation(np.asarray(sample_indices)):
                image, target = self.crop(index)
                yield image, target, self.rng.integers(0, 2**31 - 1, size=2)

        return epoch


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


def augment(image, target, seed, crop_size, max_blur_sigma=MAX_BLUR_SIGMA, zoom=True):
    """The training crops' augmentation, on the fly: flip, rotation up to 40 degrees, a zoom drawn
    log-uniformly from SCALE_RANGE and, when max_blur_sigma > 0, a Gaussian blur of sigma drawn
    uniformly from 0 to max_blur_sigma pixels (the original's was up to 3).

    image: float32 (W, W, 3) in [0, 1]; target: float32 (W, W, C) of 0/1;
    seed: int (2,) for TensorFlow's stateless random ops. The target moves
    with the image, resampled bilinearly as the image is: a pixel that a
    transformed edge cuts gets the fraction of it inside, so each outline
    keeps its place to within a fraction of a pixel, where nearest-neighbour
    resampling moved it by up to half a pixel at random (docs/quality-log.md
    measures the difference). The target is never blurred. Both come back
    centre-cropped to crop_size.
    """
    from cli import import_tensorflow

    tf = import_tensorflow()
    seeds = tf.random.experimental.stateless_split(seed, 4)
    flip = tf.random.stateless_uniform([], seeds[0]) < 0.5
    image = tf.cond(flip, lambda: tf.reverse(image, [1]), lambda: image)
    target = tf.cond(flip, lambda: tf.reverse(target, [1]), lambda: target)
    limit = MAX_ROTATION_DEGREES * math.pi / 180.0
    angle = tf.random.stateless_uniform([], seeds[1], -limit, limit)
    window = tf.shape(image)[0]
    log_low, log_high = (math.log(value) for value in SCALE_RANGE)
    scale = tf.exp(tf.random.stateless_uniform([], seeds[3], log_low, log_high)) if zoom else 1.0
    margin = BLUR_RADIUS if max_blur_sigma > 0 else 0
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
    if max_blur_sigma > 0:
        image = _gaussian_blur(tf, image, tf.random.stateless_uniform([], seeds[2], 0.0, max_blur_sigma))
    image = image[margin : margin + crop_size, margin : margin + crop_size]
    target = target[margin : margin + crop_size, margin : margin + crop_size]
    image.set_shape([crop_size, crop_size, 3])
    target.set_shape([crop_size, crop_size, target.shape[-1]])
    return image, target


def prepare_for_training(samples, boundary_width=BOUNDARY_WIDTH):
    """Normalised images and training targets of labelled samples, as uint8 arrays (a quarter of float32);
    boundary_width in pixels, as make_targets' width."""
    images = [normalise_image(sample.image) for sample in samples]
    targets = [make_targets(sample.labels, boundary_width) for sample in samples]
    return images, targets


def training_dataset(
    images, targets, sample_indices, crop_size, batch_size, seed, repeat=False, max_blur_sigma=MAX_BLUR_SIGMA
):
    """A tf.data pipeline of augmented crops, one per entry of sample_indices, reshuffled every epoch.

    sample_indices may repeat an image to draw it several times per epoch
    (the balanced trainer does). Cropping happens in a generator, the
    augmentation in parallel map calls; batches are prefetched. With repeat
    the epochs follow each other without end, each in a new order.
    """
    from cli import import_tensorflow

    tf = import_tensorflow()
    source = CropSource(images, targets, crop_size, seed)
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
        return augment(image, target, crop_seed, crop_size, max_blur_sigma)

    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(sample_indices)))
    dataset = dataset.map(to_float_and_augment, num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def validation_dataset(images, targets, crop_size, batch_size, seed):
    """Fixed (seeded once, cached) unaugmented crops of the validation images, for Keras' val metrics."""
    from cli import import_tensorflow

    tf = import_tensorflow()
    source = CropSource(images, targets, crop_size, seed)
    offset = (source.window - crop_size) // 2
    crops = [source.crop(index) for index in range(len(images))]
    inner = slice(offset, offset + crop_size)
    image_batch = np.stack([image[inner, inner] for image, _ in crops]).astype(np.float32) / 255.0
    target_batch = np.stack([target[inner, inner] for _, target in crops]).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((image_batch, target_batch))
    return dataset.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)
