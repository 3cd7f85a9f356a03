"""A run's history (nuclei.training.history): history.csv and the training curves."""

import numpy as np

from nuclei.training.history import plot_history, read_history, write_history


def test_curves_mark_the_kept_epoch_and_survive_a_history_begun_without_scores(tmp_path):
    """A run resumed from a checkpoint of older code has no val_score in its first rows."""
    rows = [{"epoch": 0, "loss": 1.0, "val_loss": 0.9}] + [
        {"epoch": epoch, "loss": 1.0 / epoch, "val_loss": 0.9 / epoch, "val_score": score}
        for epoch, score in ((1, 0.4), (2, 0.3))
    ]
    write_history(tmp_path / "history.csv", rows)
    read = read_history(tmp_path / "history.csv")
    assert np.isnan(read[0]["val_score"]) and read[1]["val_score"] == 0.4
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == "epoch,loss,val_loss,val_score"
    assert len(read_history(tmp_path / "history.csv", limit=2)) == 2 and read_history(tmp_path / "missing.csv") == []
    plot_history(tmp_path / "history.csv", tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
