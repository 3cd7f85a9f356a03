"""Finding the three image types with K-means, and drawing what the data looks like.

Usage::

    kmeans, names = fit_clusters(features, seed=0)      # features: image_types.image_features rows
    write_table("cluster_df.csv", ids, kmeans.labels_, names)
    draw_clusters("clusters.png", samples, types, features)
    draw_overview("data_overview.png", samples, types)
"""

from collections import Counter
from pathlib import Path

import numpy as np

from nuclei.data.dsb import Sample
from nuclei.data.image_types import TYPE_NAMES, name_clusters
from nuclei.files import atomic_save, atomic_write_csv

COLOURS = {"fluorescence": "tab:green", "brightfield": "tab:grey", "histology": "tab:purple"}


def fit_clusters(features: np.ndarray, seed: int = 0):
    """A KMeans(3) fitted on the feature rows, and the type name of each cluster."""
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=3, random_state=seed, n_init=10).fit(features)
    return kmeans, name_clusters(kmeans.cluster_centers_)


def write_table(path: str | Path, ids: list[str], clusters, names: list[str]) -> None:
    """cluster_df.csv: ImageId, cluster, cluster_name, one row per image, sorted by ImageId."""
    rows = ([image_id, int(cluster), names[cluster]] for image_id, cluster in sorted(zip(ids, clusters)))
    atomic_write_csv(path, ["ImageId", "cluster", "cluster_name"], rows)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_clusters(
    path: str | Path, samples: list[Sample], types: list[str], features: np.ndarray, per_type: int = 6, seed: int = 0
) -> None:
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
    atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png"))
    plt.close(figure)


def draw_overview(path: str | Path, samples: list[Sample], types: list[str]) -> None:
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
    atomic_save(path, lambda temporary: figure.savefig(temporary, dpi=90, format="png"))
    plt.close(figure)
