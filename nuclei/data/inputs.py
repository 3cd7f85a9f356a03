"""Finding the images a user names: files, folders, globs, and folders in the competition's layout.

Usage::

    from nuclei.data.inputs import find_inputs, output_names
    found = find_inputs(["plate1/", "extra/*.tif", "Well A1 (1).tif", "stage1_test"])
    found.images          # plain image files, in the order named (each folder's sorted)
    found.dsb_folders     # folders in the DSB layout, predicted as the competition's
    found.problems        # one line per name that gave nothing
    names = output_names(found.images)    # {path: NAME for NAME_labels.tif, ...}

A folder is read without its sub-folders, except that a folder whose
sub-folders hold ``<id>/images/<id>.png`` is a DSB folder. A name that is
neither a file nor a folder is a glob (``**`` reaches into sub-folders).
File names are taken as they are: spaces, brackets and accents are fine.
"""

import glob
from pathlib import Path
from typing import NamedTuple

from nuclei.data.raw import IMAGE_SUFFIXES
from nuclei.errors import UserError

OUTPUT_ENDINGS = ("_labels.tif", "_outlines.png", "_probabilities.tif")
"""How the pictures that generate_predictions.py writes for an image end."""


class Inputs(NamedTuple):
    """What a list of names given by the user holds."""

    images: list[Path]
    dsb_folders: list[Path]
    problems: list[str]


def is_image_file(path: Path) -> bool:
    """A visible file whose ending is one of IMAGE_SUFFIXES."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def is_dsb_folder(folder: Path) -> bool:
    """Whether folder holds at least one ``<id>/images/<id>.png``."""
    return any((entry / "images" / f"{entry.name}.png").is_file() for entry in folder.iterdir() if entry.is_dir())


def _images_named_by(text: str) -> tuple[list[Path], list[Path], str | None]:
    """(image files, DSB folders, problem or None) of one name the user gave."""
    path = Path(text)
    if path.is_dir():
        if is_dsb_folder(path):
            return [], [path], None
        found = sorted(entry for entry in path.iterdir() if is_image_file(entry))
        return found, [], None if found else f"{text}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder"
    if path.is_file():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            return [], [], f"{text}: not an image file the suite reads ({', '.join(IMAGE_SUFFIXES)})"
        return [path], [], None
    if glob.has_magic(text):
        found = sorted(Path(name) for name in glob.glob(text, recursive=True) if is_image_file(Path(name)))
        return found, [], None if found else f"{text}: matches no image file"
    return [], [], f"{text}: no such file or folder"


def is_earlier_output(path: Path, out_dir: Path | None) -> bool:
    """Whether path is a picture an earlier run wrote into out_dir (NAME_labels.tif, ...), not an input."""
    return bool(out_dir) and path.resolve().is_relative_to(out_dir) and path.name.endswith(OUTPUT_ENDINGS)


def find_inputs(names: list[str], exclude: str | Path | None = None) -> Inputs:
    """The images and DSB folders that names hold, each once; pictures that an earlier run wrote into exclude
    (the output folder), which a folder or glob can reach, are left out."""
    excluded = Path(exclude).resolve() if exclude else None
    images, folders, problems, seen = [], [], [], set()
    for text in names:
        found, dsb_folders, problem = _images_named_by(text)
        if problem:
            problems.append(problem)
        for path in found:
            resolved = path.resolve()
            if resolved not in seen and not is_earlier_output(path, excluded):
                seen.add(resolved)
                images.append(path)
        folders.extend(folder for folder in dsb_folders if folder.resolve() not in {f.resolve() for f in folders})
    return Inputs(images, folders, problems)


def require_inputs(names: list[str], exclude: str | Path | None = None) -> Inputs:
    """find_inputs, or UserError (one line, every problem) when the names hold no image at all."""
    found = find_inputs(names, exclude)
    if not found.images and not found.dsb_folders:
        raise UserError("no images: " + "; ".join(found.problems))
    return found


def check_output_folder(out_dir: Path, images: list[Path], names: list[str] = ()) -> None:
    """UserError if out_dir is a folder named as input (names) or one that holds input images: outputs are
    never mixed with the user's images, nor written over one."""
    resolved = Path(out_dir).resolve()
    for name in names:
        if Path(name).is_dir() and Path(name).resolve() == resolved:
            raise UserError(f"{out_dir} is the input folder {name}; choose a folder of its own for the outputs")
    for path in images:
        if path.resolve().parent == resolved:
            raise UserError(f"{out_dir} holds input images ({path.name}); choose a folder of its own for the outputs")


def output_names(images: list[Path]) -> dict[Path, str]:
    """A distinct output NAME per image: its file name without the ending; where two share it (compared
    without case), the later one is prefixed with its folder's name and, if need be, numbered."""
    names, used = {}, set()
    for path in images:
        name = path.stem
        if name.lower() in used:
            base = f"{path.resolve().parent.name}_{path.stem}"
            name, number = base, 2
            while name.lower() in used:
                name, number = f"{base}-{number}", number + 1
        used.add(name.lower())
        names[path] = name
    return names
