"""A run's history: history.csv (one row per epoch) and training_curves.png.

Usage::

    write_history("history.csv", rows)        # rows: {"epoch": 0, "loss": ..., "val_score": ...}
    rows = read_history("history.csv")
    plot_history("history.csv", "training_curves.png")

``epoch`` counts from 0, as Keras's history does.
"""

import csv
from pathlib import Path

import numpy as np

from nuclei.files import atomic_save, atomic_write_csv


def read_history(path: str | Path, limit: int | None = None) -> list[dict[str, float]]:
    """Rows of a history.csv as dicts of floats (epoch as int; NaN where empty), at most limit of them."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as stream:
        rows = [{key: float(value or "nan") for key, value in row.items()} for row in csv.DictReader(stream)]
    for row in rows:
        row["epoch"] = int(row["epoch"])
    return rows[:limit]


def write_history(path: str | Path, rows: list[dict]) -> None:
    """history.csv from rows of {column: value}: epoch first, then the other columns sorted, atomically."""
    columns = ["epoch"] + sorted({key for row in rows for key in row} - {"epoch"})
    atomic_write_csv(path, columns, ([row.get(column, "") for column in columns] for row in rows))


def plot_history(history_csv: str | Path, png_path: str | Path) -> None:
    """training_curves.png: loss and each metric per epoch, training and validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = read_history(history_csv)
    if not rows:
        return
    epochs = [int(row["epoch"]) + 1 for row in rows]
    not_metrics = ("epoch", "learning_rate", "seconds")
    names = [name for name in rows[0] if name not in not_metrics and not name.startswith("val_")]
    names += [name for name in rows[0] if name.startswith("val_") and name[4:] not in rows[0]]
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names):
        if not name.startswith("val_"):
            axis.plot(epochs, [float(row[name]) for row in rows], "o-", color="C0", label="training")
        validation = name if name.startswith("val_") else f"val_{name}"
        if validation in rows[0]:
            values = [float(row[validation]) for row in rows]
            axis.plot(epochs, values, "s-", color="C1", label="validation")
        if name == "val_score":
            best = int(np.nanargmax(values))
            axis.plot(epochs[best], values[best], "*", color="C3", markersize=14, label="epoch kept")
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    atomic_save(png_path, lambda path: figure.savefig(path, dpi=100, format="png"))
    plt.close(figure)
