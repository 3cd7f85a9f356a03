"""Atomic writes (nuclei.files): whole files or none, with the permissions any other file gets."""

import os
import stat

import numpy as np
import pytest

from nuclei import files


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_the_umasks_permissions_not_the_temporary_files(tmp_path):
    """tempfile's files are 0600; a model folder or submission must be as readable as any file the user makes."""
    reference = tmp_path / "reference"
    reference.write_text("x")
    files.atomic_write_text(tmp_path / "a.txt", "text")
    files.atomic_write_json(tmp_path / "a.json", {"a": 1})
    files.atomic_write_csv(tmp_path / "a.csv", ["a"], [[1]])
    files.atomic_save(tmp_path / "a.npy", lambda temporary: np.save(temporary, np.zeros(2)))
    files.write_png(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    for name in ("a.txt", "a.json", "a.csv", "a.npy", "a.png"):
        assert mode_of(tmp_path / name) == mode_of(reference), name


def test_a_failed_save_leaves_neither_the_file_nor_a_temporary_one(tmp_path):
    def failing(temporary):
        open(temporary, "w").write("half")
        raise OSError("disk full")

    (tmp_path / "model.keras").write_text("previous")
    with pytest.raises(OSError):
        files.atomic_save(tmp_path / "model.keras", failing)
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]
    assert (tmp_path / "model.keras").read_text() == "previous"
