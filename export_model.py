"""Turn a model folder into files that other programs open: a BioImage Model Zoo package, ONNX, a SavedModel.

Usage::

    python export_model.py MODEL_DIR --format {bioimageio,onnx,savedmodel} [--out PATH]
    python export_model.py models/dsb2018 --format bioimageio --out nuclei_unet.zip
    python export_model.py my_model --format onnx --out my_model.onnx
    python export_model.py --check nuclei_unet.zip     # does an exported file load, run and give its results?

``bioimageio``: a zip that Fiji (deepImageJ), ilastik, QuPath and
bioimage.io's own tools open: ``rdf.yaml`` (inputs, outputs, pre-processing,
the suite's tuned post-processing in its ``config``), the weights as ONNX
and TensorFlow SavedModel, a test image and the output it must give, a cover
picture and a documentation page; it is tested with bioimageio.core before
it is written. ``onnx``: one ONNX file (opset 17). ``savedmodel``: a
TensorFlow SavedModel folder. Every export takes float32 (batch, height,
width, 3) images scaled as the suite scales them, height and width multiples
of 16, and gives (batch, height, width, 2) probabilities of nucleus and of
border between touching nuclei; the package's documentation says how to
turn them into nuclei.

Nothing existing is overwritten: an --out that exists is refused. Needs the
optional packages (``pip install -r requirements-extras.txt``).
"""

import argparse
from pathlib import Path

from nuclei import cli, optional, runtime
from nuclei.errors import UserError

FORMATS = {"bioimageio": ".bioimageio.zip", "onnx": ".onnx", "savedmodel": "_savedmodel"}
"""Each format and the ending of its default --out (the model folder's name, then this)."""
FILE_SUFFIXES = {"bioimageio": ".zip", "onnx": ".onnx"}
"""The suffix --out must have for the formats that are one file, so that --check knows them again."""


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("model", metavar="MODEL_DIR", nargs="?", help="model folder to export")
    exported = parser.add_argument_group("export")
    exported.add_argument("--format", choices=FORMATS, default="bioimageio", help="what to write")
    exported.add_argument("--out", help="file or folder to write (default: MODEL_DIR's name + the format's ending)")
    exported.add_argument("--check", metavar="PATH", help="instead: check an exported file or folder")
    args = parser.parse_args(argv)
    if bool(args.model) == bool(args.check):
        parser.error("name a MODEL_DIR to export or --check PATH, one of the two")
    cli.run(check if args.check else export, args)


def export(args: argparse.Namespace) -> None:
    """Write args.model's network in args.format at args.out; every argument checked before TensorFlow starts."""
    from nuclei.model.folder import check_model_dir

    model_dir = check_model_dir(args.model)
    out = Path(args.out or f"{model_dir.resolve().name}{FORMATS[args.format]}")
    suffix = FILE_SUFFIXES.get(args.format)
    if suffix and out.suffix != suffix:
        raise UserError(f"--out {out}: a {args.format} export is a {suffix} file")
    if out.exists():
        raise UserError(f"{out} exists; choose another --out or remove it")
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    optional.require(f"export {args.format}", f"--format {args.format}")
    runtime.import_tensorflow()
    from nuclei.export import bioimageio, networks
    from nuclei.model.folder import load_model

    model = load_model(model_dir)
    if args.format == "onnx":
        networks.write_onnx(model, out)
    elif args.format == "savedmodel":
        networks.write_savedmodel(model, out)
    else:
        bioimageio.write_package(model, model_dir, out)
    print(f"wrote {out}")


def check(args: argparse.Namespace) -> None:
    """Say whether the exported file or folder args.check loads, runs and gives probabilities."""
    from nuclei.export.checks import check_export

    path = Path(args.check)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    runtime.import_tensorflow()
    print(check_export(path))


if __name__ == "__main__":
    main()
