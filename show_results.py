"""Look at what the model does: input, prediction and outlines, one image at a time in random order.

Usage::

    python show_results.py IMG_SIZE [options]
    python show_results.py 256                       # windows: any key = next image, a = quit
    python show_results.py 256 --save results --count 8
    python show_results.py 256 --images plate1/ --channel 2 --order given

Opens three OpenCV windows: ``input`` (the image), ``predict`` (each
predicted nucleus in its own colour) and ``overlay`` (predicted outlines in
green, true outlines in magenta, with the image id, Dice and competition
score where the image has masks). Images are shown at their own size, scaled down to
fit --max-side, each once; the windows close after the last.

Without a display (no DISPLAY, or an OpenCV built without windows) it says
so and writes the same panels as PNG figures into ``results/`` (``--save``),
``--count`` of them. ``--save`` also writes figures while windows are shown.
"""

from pathlib import Path

from nuclei import cli, options, runtime
from nuclei.data.dsb import list_image_ids
from nuclei.data.inputs import check_output_folder, require_inputs


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("img_size", metavar="IMG_SIZE", type=cli.image_size, help="the size the model was trained at")
    model = parser.add_argument_group("model")
    model.add_argument("--model", help=options.MODEL_HELP)
    options.add_tta_option(model)
    options.add_diameter_option(model)
    options.add_runtime_option(model)
    shown = parser.add_argument_group("images and figures")
    shown.add_argument(
        "--data", help="DSB folder to draw images from, labelled or not (default: stage1_train, else stage1_test)"
    )
    shown.add_argument("--images", nargs="+", metavar="PATH", help="image files, folders or globs instead of --data")
    shown.add_argument(
        "--channel", type=cli.positive_int("--channel"), metavar="N",
        help="the channel that holds the nuclei (1 = first) in multi-channel images",
    )  # fmt: skip
    shown.add_argument("--order", choices=("random", "given"), default="random", help="order of the images")
    shown.add_argument("--save", help="also write figures to this folder (default without display: results)")
    shown.add_argument("--count", type=cli.positive_int("--count"), default=5, help="figures to write")
    shown.add_argument("--seed", type=int, default=None, help="seed of the random choice of images")
    shown.add_argument("--max-side", type=cli.positive_int("--max-side"), default=900, help="window size, px")
    shown.add_argument("--no-windows", action="store_true", help="write figures even when a display exists")
    args = parser.parse_args(argv)
    options.check_diameter(parser, args)
    cli.run(show, args)


def show(args):
    if args.images:
        found = require_inputs(args.images)
        check_output_folder(Path(args.save or "results"), found.images, args.images)
    else:
        labelled = Path("stage1_train").is_dir() or not Path("stage1_test").is_dir()
        args.data = args.data or ("stage1_train" if labelled else "stage1_test")
        list_image_ids(args.data)
    runtime.import_tensorflow()
    from nuclei.viewer import show as show_images

    show_images(args)


if __name__ == "__main__":
    main()
