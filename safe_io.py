"""Writing files so that a crash never leaves a half-written one: temporary name, then rename.

Usage::

    from safe_io import atomic_write_text, atomic_write_json, atomic_write_csv, atomic_save
    atomic_write_json("config.json", {"img_size": 256})
    atomic_save("model.keras", model.save)     # any function that writes to a path it is given
"""

import json
import os
import tempfile
from pathlib import Path


def atomic_write_text(path, text):
    """Write text to path through a temporary file in the same folder and a rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path, data):
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_save(path, save):
    """Call save(temporary_path) and rename the result onto path.

    The temporary name ends with path's whole name, so savers that insist on
    an ending (``.keras``, ``.weights.h5``) accept it.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=f".{path.name}")
    os.close(handle)
    try:
        save(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_csv(path, header, rows):
    """Write a CSV (header, then rows; "\\n" line ends) atomically."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def atomic_write_bytes(path, data):
    """Write bytes to path through a temporary file in the same folder and a rename."""
    atomic_save(path, lambda temporary: Path(temporary).write_bytes(data))


def write_png(path, array):
    """Write a grey (uint8 or uint16) or BGR array as a PNG, atomically."""
    import cv2

    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise OSError(f"cannot encode {path} as PNG")
    atomic_write_bytes(path, encoded.tobytes())
