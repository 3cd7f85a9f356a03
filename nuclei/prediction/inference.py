"""Running a trained U-Net over whole images of any size, in batches.

Usage::

    from nuclei.prediction.inference import predict_probabilities
    for index, probabilities in predict_probabilities(model, images, batch_size=8, tta=True):
        ...   # probabilities: float32 (H, W, C) at the image's own size

No image is squashed: each is normalised exactly as in training
(nuclei.data.normalisation.model_input), zero-padded to a multiple of 16, and images
of the same padded shape share a batch. Images larger than tile_size on a side
are cut into overlapping tiles whose centres are stitched back, which bounds
memory on large images and on small GPUs. With tta the prediction is the mean
over the image and its horizontal and vertical flips; predict_with_and_without_flips
gives both from one pass, for choosing between them.
"""

import weakref
from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from nuclei.data.normalisation import model_input
from nuclei.model.shape import SIZE_STEP as STEP


def pad_to_multiple(array: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Zero-pad the first two axes at the bottom and right up to a multiple; returns (padded, (h, w))."""
    height, width = array.shape[:2]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h or pad_w:
        pad = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (array.ndim - 2)
        array = np.pad(array, pad)
    return array, (height, width)


def _tiles(length, tile, margin):
    """Start offsets of tiles of size tile covering length, overlapping by 2 * margin."""
    if length <= tile:
        return [0]
    stride = tile - 2 * margin
    starts = list(range(0, length - tile, stride)) + [length - tile]
    return sorted(set(starts))


def _pieces(padded, tile_size, margin):
    """(top, left, array) pieces of a padded image: itself, or overlapping tiles if larger than tile_size."""
    height, width = padded.shape[:2]
    if max(height, width) <= tile_size:
        return [(0, 0, padded)]
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)
    return [
        (top, left, padded[top : top + tile_h, left : left + tile_w])
        for top in _tiles(height, tile_h, margin)
        for left in _tiles(width, tile_w, margin)
    ]


_PREDICTORS = weakref.WeakKeyDictionary()


def make_predictor(model):
    """A compiled local forward pass: ``predictor(batch)`` returns float32 numpy probabilities.

    model is a Keras model or a nuclei.prediction.runtimes.Network (another
    runtime's converted model), which is its own predictor.

    Keras's own predict would, for a model built under a multi-worker
    strategy, gather across workers; this runs on this process alone. One
    predictor is kept per model, so callers that predict an image at a time
    (the viewer) do not trace the model again for every call.
    """
    from nuclei.prediction.runtimes import Network

    if isinstance(model, Network):
        return model.predict
    if model not in _PREDICTORS:
        import tensorflow as tf

        forward = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
        _PREDICTORS[model] = lambda batch: np.asarray(forward(tf.constant(batch)), dtype=np.float32)
    return _PREDICTORS[model]


def _predict_batch(predictor, batch, with_flips):
    """The batch's prediction and, with_flips, the mean over it and its horizontal and vertical flips (else None)."""
    plain = predictor(batch)
    if not with_flips:
        return plain, None
    averaged = plain + predictor(np.ascontiguousarray(batch[:, :, ::-1]))[:, :, ::-1]
    averaged = averaged + predictor(np.ascontiguousarray(batch[:, ::-1]))[:, ::-1]
    return plain, averaged / 3.0


def _stitch(shape, pieces, predictions, margin):
    """Paste tile predictions into one map, each tile contributing the part away from its inner edges."""
    height, width = shape[:2]
    result = np.zeros((height, width, predictions[0].shape[-1]), dtype=np.float32)
    for (top, left, piece), prediction in zip(pieces, predictions):
        tile_h, tile_w = piece.shape[:2]
        y0 = 0 if top == 0 else margin
        x0 = 0 if left == 0 else margin
        y1 = tile_h if top + tile_h >= height else tile_h - margin
        x1 = tile_w if left + tile_w >= width else tile_w - margin
        result[top + y0 : top + y1, left + x0 : left + x1] = prediction[y0:y1, x0:x1]
    return result


def predict_probabilities(
    model,
    images: Sequence[np.ndarray],
    batch_size: int = 8,
    tta: bool = False,
    tile_size: int = 1024,
    margin: int = 64,
    chunk: int = 32,
    progress: bool = True,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (index, probabilities) for each RGB uint8 image, in order, chunk images at a time.

    tile_size and margin are in pixels and must be multiples of 16.
    """
    options = dict(batch_size=batch_size, tile_size=tile_size, margin=margin, chunk=chunk, progress=progress)
    for index, plain, averaged in _predict(model, images, with_flips=tta, **options):
        yield index, averaged if tta else plain


def predict_with_and_without_flips(
    model, images: Sequence[np.ndarray], **options
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (index, plain probabilities, flip-averaged probabilities) from one pass over the images.

    The flip-averaged map is exactly what predict_probabilities gives with
    tta, computed from the same plain prediction, so comparing the two costs
    no extra forward pass. options: those of predict_probabilities, but tta.
    """
    yield from _predict(model, images, with_flips=True, **options)


def _predict(model, images, with_flips, batch_size=8, tile_size=1024, margin=64, chunk=32, progress=True):
    """Yield (index, plain, flip-averaged or None) for each image: the one prediction path."""
    from tqdm import tqdm

    if tile_size % STEP or margin % STEP or tile_size <= 2 * margin:
        raise ValueError(f"tile_size and margin must be multiples of {STEP}, tile_size > 2 * margin")
    predictor = make_predictor(model)
    bar = tqdm(total=len(images), desc="predicting", unit="img", disable=not progress)
    for start in range(0, len(images), chunk):
        indices = range(start, min(start + chunk, len(images)))
        pieces, groups = {}, defaultdict(list)
        padded_shapes = {}
        for index in indices:
            padded, _ = pad_to_multiple(model_input(images[index]), STEP)
            padded_shapes[index] = padded.shape
            pieces[index] = _pieces(padded, tile_size, margin)
            for number, (_, _, array) in enumerate(pieces[index]):
                groups[array.shape].append((index, number))
        outputs = {index: [None] * len(pieces[index]) for index in indices}
        for members in groups.values():
            for offset in range(0, len(members), batch_size):
                batch_members = members[offset : offset + batch_size]
                batch = np.stack([pieces[i][n][2] for i, n in batch_members])
                plain, averaged = _predict_batch(predictor, batch, with_flips)
                for position, (i, n) in enumerate(batch_members):
                    outputs[i][n] = (plain[position], None if averaged is None else averaged[position])
        for index in indices:
            height, width = images[index].shape[:2]
            views = [
                _stitch(padded_shapes[index], pieces[index], [output[view] for output in outputs[index]], margin)
                for view in ((0, 1) if with_flips else (0,))
            ]
            bar.update(1)
            yield index, views[0][:height, :width], views[1][:height, :width] if with_flips else None
    bar.close()
