"""Cluster the training images into their three types and draw what the data looks like.

Usage::

    python cluster_images.py                              # reads stage1_train/
    python cluster_images.py --data path/to/stage1_train
    python cluster_images.py --predict stage1_test        # type new images with the saved model

Fits ``KMeans(n_clusters=3)`` with a fixed seed on features computed from each
image's pixels alone (image_types.image_features), names the clusters from
their centres (fluorescence, brightfield, histology), and writes:

- ``cluster_df.csv``: ImageId, cluster, cluster_name, one row per image, sorted by ImageId;
- ``filename.joblib``: the fitted model and the cluster names;
- ``clusters.png``: example thumbnails per type and a 2-D projection of the features;
- ``data_overview.png``: image sizes, nuclei per image and nucleus areas per type.
"""

from collections import Counter
from pathlib import Path

import numpy as np

from nuclei import cli
from nuclei.data.clustering import draw_clusters, draw_overview, fit_clusters, write_table
from nuclei.data.dsb import list_image_ids
from nuclei.data.image_types import (
    DEFAULT_CLUSTER_MODEL,
    DEFAULT_CLUSTER_TABLE,
    FEATURE_NAMES,
    TYPE_NAMES,
    image_features,
    load_cluster_model,
    predict_types,
)
from nuclei.data.loading import load_samples
from nuclei.errors import UserError
from nuclei.files import atomic_save


def fit(args):
    import joblib

    ids = list_image_ids(args.data)
    samples, skipped = load_samples(args.data, ids, with_labels=not args.no_overview)
    if len(samples) < 3:
        raise UserError(f"need at least 3 readable images in {args.data} to form 3 clusters")
    features = np.stack([image_features(sample.image) for sample in samples])
    kmeans, names = fit_clusters(features, args.seed)
    ids = [sample.image_id for sample in samples]
    write_table(args.table, ids, kmeans.labels_, names)
    bundle = {"kmeans": kmeans, "cluster_names": names, "feature_names": FEATURE_NAMES}
    atomic_save(args.model, lambda temporary: joblib.dump(bundle, temporary))
    types = [names[cluster] for cluster in kmeans.labels_]
    counts = Counter(types)
    print("clusters: " + ", ".join(f"{name} {counts.get(name, 0)}" for name in TYPE_NAMES))
    print(f"wrote {args.table} and {args.model}")
    draw_clusters(Path(args.figures) / "clusters.png", samples, types, features, seed=args.seed)
    if not args.no_overview:
        draw_overview(Path(args.figures) / "data_overview.png", samples, types)
    print(f"wrote clusters.png{'' if args.no_overview else ' and data_overview.png'} in {args.figures}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable image(s): " + ", ".join(image_id for image_id, _ in skipped))


def predict(args):
    bundle = load_cluster_model(args.model)
    ids = list_image_ids(args.predict)
    samples, _ = load_samples(args.predict, ids, with_labels=False)
    types = predict_types(bundle, [sample.image for sample in samples])
    counts = Counter(types)
    print(f"{len(samples)} images in {args.predict}: " + ", ".join(f"{n} {counts.get(n, 0)}" for n in TYPE_NAMES))
    if args.csv:
        clusters = {name: index for index, name in enumerate(bundle["cluster_names"])}
        write_table(args.csv, [s.image_id for s in samples], [clusters[t] for t in types], bundle["cluster_names"])
        print(f"wrote {args.csv}")


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("--data", default="stage1_train", help="DSB folder of training images to cluster")
    parser.add_argument("--table", default=str(DEFAULT_CLUSTER_TABLE), help="cluster table to write")
    parser.add_argument("--model", default=str(DEFAULT_CLUSTER_MODEL), help="fitted model to write (or read)")
    parser.add_argument("--figures", default=".", help="folder for clusters.png and data_overview.png")
    parser.add_argument("--seed", type=int, default=0, help="K-means seed")
    parser.add_argument("--no-overview", action="store_true", help="skip the masks and data_overview.png")
    parser.add_argument("--predict", metavar="FOLDER", help="type the images of FOLDER with the saved model")
    parser.add_argument("--csv", help="with --predict: also write the types to this CSV")
    args = parser.parse_args(argv)
    cli.run(predict if args.predict else fit, args)


if __name__ == "__main__":
    main()
