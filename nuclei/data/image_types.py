"""The three image types of the set (fluorescence, bright-field, histology) and how to tell them apart.

Usage::

    typer = ImageTyper()                    # cluster_df.csv and filename.joblib at the project root
    name = typer.type_of(image_id, image)   # "fluorescence", "brightfield" or "histology"

Types come from ``cluster_df.csv`` (keyed by ImageId), written by
``cluster_images.py``; an image it does not list is typed by the fitted
K-means model in ``filename.joblib`` from its pixels alone. The joblib file
is a pickle: loading it runs code, so only use one from a trusted source.
"""

import csv
import pickle
from pathlib import Path

import cv2
import numpy as np

from nuclei.data.dsb import Sample, check_image_id
from nuclei.errors import UserError

TYPE_NAMES = ("fluorescence", "brightfield", "histology")
PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The project's root, which holds cluster_df.csv and filename.joblib as the original did."""
DEFAULT_CLUSTER_TABLE = PROJECT_DIR / "cluster_df.csv"
DEFAULT_CLUSTER_MODEL = PROJECT_DIR / "filename.joblib"
UNREADABLE_PICKLE = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    ValueError,
    KeyError,
    IndexError,
    ImportError,
    AttributeError,
    TypeError,
)
"""What loading a damaged pickle, or one of another scikit-learn version (a class it names differently or
builds from other arguments: AttributeError, TypeError), raises."""
FEATURE_NAMES = ("background_brightness", "mean_brightness", "stain_saturation")


def image_features(image: np.ndarray) -> np.ndarray:
    """Features of an RGB uint8 image that separate the types, each in [0, 1].

    Fluorescence images are dark with bright nuclei; bright-field and
    histology images are bright, and histology's stain is strongly coloured
    (saturated). Computed on a 128-pixel thumbnail, so any size costs the same.
    """
    thumbnail = cv2.resize(image, (128, 128), interpolation=cv2.INTER_AREA)
    grey = thumbnail.mean(axis=2) / 255.0
    saturation = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2HSV)[..., 1] / 255.0
    return np.array([np.median(grey), grey.mean(), np.sqrt(np.percentile(saturation, 95))], dtype=np.float64)


def name_clusters(centres: np.ndarray) -> list[str]:
    """Names for K-means centres (rows of FEATURE_NAMES values): most saturated is histology,
    of the rest the brightest background is bright-field, and the last fluorescence."""
    centres = np.asarray(centres)
    histology = int(np.argmax(centres[:, 2]))
    rest = [index for index in range(len(centres)) if index != histology]
    brightfield = max(rest, key=lambda index: centres[index, 0])
    names = {histology: "histology", brightfield: "brightfield"}
    return [names.get(index, "fluorescence") for index in range(len(centres))]


def read_cluster_table(path: str | Path = DEFAULT_CLUSTER_TABLE) -> dict[str, str]:
    """{ImageId: type name} from a cluster_df.csv; UserError naming the file on any problem."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            missing = {"ImageId", "cluster", "cluster_name"} - set(reader.fieldnames or ())
            if missing:
                raise UserError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
            table = {}
            for line, row in enumerate(reader, start=2):
                try:
                    image_id = check_image_id(row["ImageId"])
                except UserError as error:
                    raise UserError(f"{path} line {line}: {error}") from None
                if row["cluster_name"] not in TYPE_NAMES:
                    raise UserError(f"{path} line {line}: unknown cluster_name {row['cluster_name']!r}")
                table[image_id] = row["cluster_name"]
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    return table


def load_cluster_model(path: str | Path = DEFAULT_CLUSTER_MODEL) -> dict:
    """The fitted model saved by cluster_images.py: a dict with "kmeans" and "cluster_names"."""
    import joblib

    path = Path(path)
    try:
        bundle = joblib.load(path)
    except UNREADABLE_PICKLE as error:
        raise UserError(f"cannot load cluster model {path}: {error}") from None
    if not isinstance(bundle, dict) or not {"kmeans", "cluster_names"} <= set(bundle):
        raise UserError(f"{path} is not a cluster model written by cluster_images.py")
    return bundle


def predict_types(bundle: dict, images: list[np.ndarray]) -> list[str]:
    """Type names of RGB uint8 images according to a loaded cluster model."""
    if not images:
        return []
    features = np.stack([image_features(image) for image in images])
    return [bundle["cluster_names"][cluster] for cluster in bundle["kmeans"].predict(features)]


class ImageTyper:
    """Looks image types up by id in the cluster table, falling back to the K-means model.

    ``inferred`` lists the ids that were typed by the model because the table
    does not have them.
    """

    def __init__(self, table_path: str | Path = DEFAULT_CLUSTER_TABLE, model_path: str | Path = DEFAULT_CLUSTER_MODEL):
        self.table = read_cluster_table(table_path) if Path(table_path).is_file() else {}
        self.table_path = table_path
        self.model_path = model_path
        self._bundle = None
        self.inferred = []

    def type_of(self, image_id: str, image: np.ndarray) -> str:
        """The type of one image: from the table by id, else from its pixels."""
        if image_id in self.table:
            return self.table[image_id]
        if self._bundle is None:
            self._bundle = load_cluster_model(self.model_path)
        self.inferred.append(image_id)
        return predict_types(self._bundle, [image])[0]

    def types_of(self, samples: list[Sample]) -> list[str]:
        """The type of each sample, in order."""
        return [self.type_of(sample.image_id, sample.image) for sample in samples]
