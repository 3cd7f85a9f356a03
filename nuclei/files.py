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
FOLDER_MODE = 0o777 & ~_umask()
"""The permissions of a folder written whole (a SavedModel), as mkdir would give them: mkdtemp's are private."""


def publish(temporary: str | Path, path: str | Path, exclusive: bool = False) -> None:
    """Give a finished temporary file (in path's folder) the usual permissions and rename it onto path.

    exclusive: never replace an existing path (a hard link, then the temporary
    name removed); FileExistsError if something appeared there meanwhile.
    """
    os.chmod(temporary, FILE_MODE)
    if not exclusive:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(path):
            raise FileExistsError(path) from None
        os.replace(temporary, path)
        return
    os.unlink(temporary)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to path through a temporary file in the same folder and a rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        publish(temporary, path)
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
        publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data) -> None:
    """Write data as indented JSON with sorted keys, atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_save(path: str | Path, save: Callable[[str], object], exclusive: bool = False) -> None:
    """Call save(temporary_path) and rename the result onto path.

    The temporary name ends with path's whole name, so savers that insist on
    an ending (``.keras``, ``.weights.h5``, ``.zip``) accept it. exclusive:
    FileExistsError rather than replace a path that exists by then.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=f".{path.name}")
    os.close(handle)
    try:
        save(temporary)
        publish(temporary, path, exclusive)
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
