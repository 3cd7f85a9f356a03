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

import cli
import data_preprocessing as dp
import safe_io
from image_types import (
    DEFAULT_CLUSTER_MODEL,
    DEFAULT_CLUSTER_TABLE,
    FEATURE_NAMES,
    TYPE_NAMES,
    image_features,
    load_cluster_model,
    name_clusters,
    predict_types,
)

COLOURS = {"fluorescence": "tab:green", "brightfield": "tab:grey", "histology": "tab:purple"}


def fit_clusters(features, seed=0):
    """A KMeans(3) fitted on the feature rows, and the type name of each cluster."""
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=3, random_state=seed, n_init=10).fit(features)
    return kmeans, name_clusters(kmeans.cluster_centers_)


def write_table(path, ids, clusters, names):
    rows = ([image_id, int(cluster), names[cluster]] for image_id, cluster in sorted(zip(ids, clusters)))
    safe_io.atomic_write_csv(path, ["ImageId", "cluster", "cluster_name"], rows)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_clusters(path, samples, types, features, per_type=6, seed=0):
    """clusters.png: per_type example thumbnails of each type beside a PCA projection of the features."""
    import cv2
    from sklearn.decomposition import PCA

    plt = _pyplot()
    counts = Counter(types)
    figure = plt.figure(figsize=(16, 7))
    grid = figure.add_gridspec(len(TYPE_NAMES), per_type + 4)
    rng = np.random.default_rng(seed)
    for row, name in enumerate(TYPE_NAMES):
        members = [index for index, kind in enumerate(types) if kind == name]
        chosen = rng.choice(members, size=min(per_type, len(members)), replace=False) if members else []
        for column in range(per_type):
            axis = figure.add_subplot(grid[row, column])
            axis.set_xticks([])
            axis.set_yticks([])
            if column < len(chosen):
                axis.imshow(cv2.resize(samples[chosen[column]].image, (128, 128), interpolation=cv2.INTER_AREA))
            if column == 0:
                axis.set_ylabel(f"{name}\n{counts.get(name, 0)} images", fontsize=11)
    axis = figure.add_subplot(grid[:, per_type:])
    projected = PCA(n_components=2, random_state=seed).fit_transform(features)
    for name in TYPE_NAMES:
        mask = np.array([kind == name for kind in types])
        if mask.any():
            axis.scatter(*projected[mask].T, s=12, c=COLOURS[name], label=f"{name} ({mask.sum()})")
    axis.set_title(f"{len(types)} images, features projected to 2-D (PCA)")
    axis.set_xlabel("first principal component")
    axis.set_ylabel("second principal component")
    axis.legend()
    figure.suptitle("Image types found by K-means (3 clusters)")
    figure.tight_layout()
    safe_io.atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png"))
    plt.close(figure)


def draw_overview(path, samples, types):
    """data_overview.png: image sizes, nuclei per image and nucleus areas, per type."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for name in TYPE_NAMES:
        members = [sample for sample, kind in zip(samples, types) if kind == name]
        if not members:
            continue
        colour = COLOURS[name]
        heights = [sample.image.shape[0] for sample in members]
        widths = [sample.image.shape[1] for sample in members]
        axes[0].scatter(widths, heights, s=30, c=colour, alpha=0.5, label=f"{name} ({len(members)})")
        nuclei = [int(sample.labels.max()) for sample in members]
        axes[1].hist(nuclei, bins=30, color=colour, alpha=0.6, label=f"{name}: median {np.median(nuclei):.0f}")
        areas = np.concatenate([np.bincount(sample.labels.ravel())[1:] for sample in members])
        areas = areas[areas > 0]
        axes[2].hist(
            areas,
            bins=np.geomspace(1, max(areas.max(), 2), 40),
            color=colour,
            alpha=0.6,
            label=f"{name}: median {np.median(areas):.0f} px",
        )
    axes[0].set(title="image sizes", xlabel="width (px)", ylabel="height (px)")
    axes[1].set(title="nuclei per image", xlabel="nuclei", ylabel="images")
    axes[2].set(title="nucleus area", xlabel="area (px, log scale)", ylabel="nuclei", xscale="log")
    for axis in axes:
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    safe_io.atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png"))
    plt.close(figure)


def fit(args):
    import joblib

    ids = dp.list_image_ids(args.data)
    samples, skipped = dp.load_samples(args.data, ids, with_labels=not args.no_overview)
    if len(samples) < 3:
        raise cli.UserError(f"need at least 3 readable images in {args.data} to form 3 clusters")
    features = np.stack([image_features(sample.image) for sample in samples])
    kmeans, names = fit_clusters(features, args.seed)
    ids = [sample.image_id for sample in samples]
    write_table(args.table, ids, kmeans.labels_, names)
    bundle = {"kmeans": kmeans, "cluster_names": names, "feature_names": FEATURE_NAMES}
    safe_io.atomic_save(args.model, lambda temporary: joblib.dump(bundle, temporary))
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
    ids = dp.list_image_ids(args.predict)
    samples, _ = dp.load_samples(args.predict, ids, with_labels=False)
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
