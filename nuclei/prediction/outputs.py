"""What a prediction leaves for a lab: label images, outlines, ImageJ ROIs and per-nucleus measurements.

Usage::

    from nuclei.prediction import outputs
    outputs.write_label_image("out/A1_labels.tif", labels)      # 16-bit TIFF, 32-bit above 65,535 nuclei
    outputs.write_outlines("out/A1_outlines.png", image, labels)
    outputs.write_rois("out/A1_rois.zip", labels)               # Fiji: File > Open, or the ROI Manager
    table = outputs.measure(labels, raw_values, "A1")           # one row per nucleus (pandas)

Every file is written under a temporary name and renamed when complete
(nuclei.files), so an interrupted run leaves no half-written one. Lengths
and areas are in pixels of the original image, intensities in its own raw
values (for a 16-bit image, 0..65535).
"""

from pathlib import Path

import cv2
import numpy as np

from nuclei.data.sizes import median_diameter
from nuclei.files import atomic_save, write_png
from nuclei.pictures import overlay

MEASUREMENTS = (
    "label",
    "centroid",
    "area",
    "perimeter",
    "equivalent_diameter_area",
    "eccentricity",
    "solidity",
    "intensity_mean",
    "intensity_min",
    "intensity_max",
)
"""The skimage.measure.regionprops properties in nuclei.csv, in this order."""
COLUMN_NAMES = {
    "centroid-0": "centroid_y",
    "centroid-1": "centroid_x",
    "equivalent_diameter_area": "equivalent_diameter",
}


def label_image_type(labels: np.ndarray) -> type:
    """uint16 while the nuclei fit (Fiji and napari read it everywhere), uint32 above 65,535."""
    return np.uint16 if int(labels.max(initial=0)) <= np.iinfo(np.uint16).max else np.uint32


def write_label_image(path: str | Path, labels: np.ndarray) -> None:
    """The label map as a zlib-compressed TIFF: 0 background, 1..N one nucleus each."""
    import tifffile

    array = labels.astype(label_image_type(labels))
    atomic_save(path, lambda temporary: tifffile.imwrite(temporary, array, compression="zlib", metadata={"axes": "YX"}))


def display_image(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 image stretched from its 0.5th to 99.5th percentile, colours kept, for looking at."""
    low, high = np.percentile(image, (0.5, 99.5))
    scale = 255.0 / max(float(high - low), 1.0)
    return np.clip((image.astype(np.float32) - low) * scale, 0, 255).round().astype(np.uint8)


def write_outlines(path: str | Path, image: np.ndarray, labels: np.ndarray) -> None:
    """A PNG of the RGB uint8 image (contrast stretched) with each nucleus's outline drawn in green."""
    picture = overlay(display_image(image), labels)
    write_png(path, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))


def nucleus_outlines(labels: np.ndarray) -> dict[int, np.ndarray]:
    """{label: (N, 2) outline points (x, y) in image pixels}, the longest outer contour of each nucleus."""
    from scipy import ndimage

    outlines = {}
    for number, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        mask = (labels[box] == number).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        longest = max(contours, key=len)[:, 0, :]
        outlines[number] = longest + (box[1].start, box[0].start)
    return outlines


def write_rois(path: str | Path, labels: np.ndarray) -> int:
    """An ImageJ ROI zip with one polygon per nucleus, named by its label (0001, ...); returns how many.
    Nothing is written for an image without nuclei (ImageJ has no empty ROI set)."""
    from roifile import ImagejRoi, roiwrite

    outlines = nucleus_outlines(labels)
    if not outlines:
        return 0
    digits = max(4, len(str(max(outlines))))
    rois = [ImagejRoi.frompoints(points, name=f"{number:0{digits}d}") for number, points in outlines.items()]
    atomic_save(path, lambda temporary: roiwrite(temporary, rois, mode="w"))
    return len(rois)


def measure(labels: np.ndarray, intensity: np.ndarray, image_name: str):
    """One row per nucleus (pandas DataFrame): image, label, centroid_y/x, area, perimeter,
    equivalent_diameter, eccentricity, solidity, and intensity_mean/min/max of the raw values."""
    import pandas as pd
    from skimage.measure import regionprops_table

    table = regionprops_table(labels, intensity_image=intensity, properties=MEASUREMENTS)
    frame = pd.DataFrame(table).rename(columns=COLUMN_NAMES)
    frame.insert(0, "image", image_name)
    return frame


def image_row(name: str, source: Path, labels: np.ndarray, factor: float) -> dict:
    """images.csv's row: the image, its file and size (pixels), its nuclei (count, mean area in pixels,
    fraction of the image covered, median diameter in pixels) and the factor it was resized by."""
    areas = np.bincount(labels.ravel())[1:]
    areas = areas[areas > 0]
    return {
        "image": name,
        "file": str(source),
        "width": labels.shape[1],
        "height": labels.shape[0],
        "nuclei": int(areas.size),
        "mean_area": float(areas.mean()) if areas.size else 0.0,
        "area_fraction": float(areas.sum() / labels.size),
        "median_diameter": median_diameter(labels),
        "resize_factor": factor,
    }
