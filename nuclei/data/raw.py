"""Reading microscope images as they are, and turning them into what the network reads.

Usage::

    from nuclei.data.raw import read_raw, to_rgb8, intensity_plane
    raw = read_raw("Well A1 (1).tif")        # RawImage(pixels, rgb): the file's own values
    image = to_rgb8(raw, channel=2)          # RGB uint8 for the network, from the 2nd channel
    values = intensity_plane(raw, channel=2) # the raw values that nuclei are measured on

Formats: PNG, JPEG and BMP through OpenCV, TIFF through tifffile (multi-page,
multi-channel, ImageJ hyperstacks, any compression imagecodecs reads); 8- and
16-bit integers and floats. ``pixels`` is (H, W) or (H, W, C), channels
last; ``rgb`` says whether its channels are the colours of one picture (a
colour PNG or JPEG, an RGB TIFF) rather than separate stains (a TIFF's C
axis), which need ``channel`` to say which one holds the nuclei.

8-bit values are kept as they are, so the competition's images reach the
network exactly as before. Any other type is stretched from its own 1st to
99.9th percentile onto 0..255 (the range nuclei.data.normalisation stretches
anyway), so a 12-bit image whose values span 100..3000, or a 16-bit frame
spanning 33,000..36,900, keeps 256 grey levels instead of the handful a
division by the type's maximum leaves.
"""

from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from nuclei.errors import DataError

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
"""File endings read as images (any case)."""
TIFF_SUFFIXES = (".tif", ".tiff")
CHANNEL_AXES = "CSIQ"
"""tifffile's axis codes read as channels: C (channel), S (colour sample), I and Q (plain pages)."""
STRETCH_PERCENTILES = (1.0, 99.9)
"""The raw values mapped onto 0 and 255 for images that are not 8-bit."""


class RawImage(NamedTuple):
    """An image's pixels in its file's own values, (H, W) or (H, W, C), and whether C is colour (RGB)."""

    pixels: np.ndarray
    rgb: bool

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else self.pixels.shape[2]


def read_raw(path: str | Path) -> RawImage:
    """The image at path, channels last; DataError naming the file if it cannot be read or is not 2-D."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise DataError(f"{path}: missing or empty file")
    try:
        raw = _read_tiff(path) if path.suffix.lower() in TIFF_SUFFIXES else _read_with_opencv(path)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    pixels = raw.pixels
    if pixels.size == 0 or min(pixels.shape[:2]) < 2:
        raise DataError(f"{path}: empty image ({'x'.join(map(str, pixels.shape))})")
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    if not (np.issubdtype(pixels.dtype, np.integer) or np.issubdtype(pixels.dtype, np.floating)):
        raise DataError(f"{path}: unsupported pixel type {pixels.dtype}")
    return RawImage(pixels, raw.rgb)


def _read_with_opencv(path: Path) -> RawImage:
    """PNG, JPEG, BMP: grey as (H, W), colour converted from OpenCV's BGR(A) to RGB(A)."""
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataError(f"{path}: not a readable image")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return RawImage(image, rgb=False)
    code = cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return RawImage(cv2.cvtColor(image, code), rgb=True)


def _read_tiff(path: Path) -> RawImage:
    """The first series of a TIFF, with its channel axis (C, S, or plain pages) last; DataError for stacks."""
    import logging

    import tifffile

    logging.getLogger("tifffile").setLevel(logging.CRITICAL)
    try:
        with tifffile.TiffFile(path) as tiff:
            series = tiff.series[0]
            pixels, axes = series.asarray(), series.axes
            colour = tiff.pages[0].photometric in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR)
    except Exception as error:  # tifffile and its codecs raise many types for a broken file
        raise DataError(f"{path}: not a readable TIFF ({type(error).__name__}: {error})") from None
    kept = [index for index, axis in enumerate(axes) if axis in "YX" or pixels.shape[index] > 1]
    pixels = pixels.reshape([pixels.shape[index] for index in kept])
    axes = "".join(axes[index] for index in kept)
    extra = [index for index, axis in enumerate(axes) if axis not in "YX"]
    if len(extra) > 1 or (extra and axes[extra[0]] not in CHANNEL_AXES):
        sizes = ", ".join(f"{axes[index]} {pixels.shape[index]}" for index in extra)
        raise DataError(f"{path}: a stack ({sizes}); the suite reads one 2-D plane per file, with channels")
    if not extra:
        return RawImage(pixels, rgb=False)
    pixels = np.moveaxis(pixels, extra[0], -1)
    if axes[extra[0]] == "S" and pixels.shape[-1] == 2:
        return RawImage(pixels[:, :, 0], rgb=False)
    return RawImage(pixels, rgb=colour and axes[extra[0]] == "S" and pixels.shape[-1] in (3, 4))


def _plane(raw: RawImage, channel: int | None, name: str) -> np.ndarray | None:
    """The 1-based channel's plane, the only plane of a grey image, or None for a colour picture."""
    if channel is not None:
        if channel > raw.channels:
            raise DataError(f"{name}: has no channel {channel} (it has {raw.channels}); see --channel")
        return raw.pixels if raw.pixels.ndim == 2 else raw.pixels[:, :, channel - 1]
    if raw.channels == 1:
        return raw.pixels if raw.pixels.ndim == 2 else raw.pixels[:, :, 0]
    if raw.rgb:
        return None
    raise DataError(f"{name}: {raw.channels} channels; tell which one holds the nuclei with --channel (1 = first)")


def stretch_to_uint8(values: np.ndarray) -> np.ndarray:
    """uint8 values as they are; any other type from its STRETCH_PERCENTILES onto 0..255 (NaN as the lowest)."""
    if values.dtype == np.uint8:
        return values
    values = values.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, np.uint8)
    low, high = np.percentile(values[finite], STRETCH_PERCENTILES)
    values = np.where(finite, values, low)
    scale = 255.0 / (high - low) if high > low else 0.0
    return np.clip((values - low) * scale, 0, 255).round().astype(np.uint8)


def to_rgb8(raw: RawImage, channel: int | None = None, name: str = "image") -> np.ndarray:
    """The RGB uint8 image the network reads: the 1-based channel (or the only one) as grey, or the colour
    picture without its alpha; DataError naming the image when the channel is missing or must be chosen."""
    plane = _plane(raw, channel, name)
    if plane is None:
        return stretch_to_uint8(raw.pixels[:, :, :3])
    return np.repeat(stretch_to_uint8(plane)[:, :, None], 3, axis=2)


def intensity_plane(raw: RawImage, channel: int | None = None, name: str = "image") -> np.ndarray:
    """The raw values nuclei are measured on: the chosen or only channel, or a colour picture's mean colour."""
    plane = _plane(raw, channel, name)
    if plane is None:
        return raw.pixels[:, :, :3].astype(np.float32).mean(axis=2)
    return plane
