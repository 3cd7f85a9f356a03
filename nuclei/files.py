"""Writing files so that a crash never leaves a half-written one: temporary name, then rename.

Usage::

    from nuclei.files import atomic_write_text, atomic_write_json, atomic_write_csv, atomic_save, atomic_open
    atomic_write_json("config.json", {"img_size": 256})
    atomic_save("model.keras", model.save)     # any function that writes to a path it is given
    with atomic_open("nuclei.csv") as stream:  # written bit by bit, there only once complete
        frame.to_csv(stream, index=False)
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""The permissions of every file written, as open() would give them: the temporary files
tempfile makes are private (0600), and a rename keeps that."""


def _publish(temporary: str, path: Path) -> None:
    """Give the finished temporary file the usual permissions and rename it onto path."""
    os.chmod(temporary, FILE_MODE)
    os.replace(temporary, path)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to path through a temporary file in the same folder and a rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        _publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path) -> Iterator:
    """A text stream that becomes path when the block ends without an exception, and nothing otherwise:
    for files written a piece at a time (tables that grow image by image)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
        _publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data) -> None:
    """Write data as indented JSON with sorted keys, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_save(path: str | Path, save: Callable[[str], object]) -> None:
    """Call save(temporary_path) and rename the result onto path.

    The temporary name ends with path's whole name, so savers that insist on
    an ending (``.keras``, ``.weights.h5``) accept it.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=f".{path.name}")
    os.close(handle)
    try:
        save(temporary)
        _publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_csv(path: str | Path, header: Iterable, rows: Iterable[Iterable]) -> None:
    """Write a CSV (header, then rows; "\\n" line ends) atomically."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write bytes to path through a temporary file in the same folder and a rename."""
    atomic_save(path, lambda temporary: Path(temporary).write_bytes(data))


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Write a grey (uint8 or uint16) or BGR array as a PNG, atomically."""
    import cv2

    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise OSError(f"cannot encode {path} as PNG")
    atomic_write_bytes(path, encoded.tobytes())
