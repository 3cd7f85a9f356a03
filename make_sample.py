"""Draw a small DSB-like data set, so that everything runs without the competition's data.

Usage::

    python make_sample.py                 # writes sample/stage1_train and sample/stage1_test
    python make_sample.py --out demo --train 24 --test 6 --seed 1

Fluorescence, bright-field and histology look-alikes in the competition's
folder layout, their masks included (nuclei.data.synthetic says how they are
drawn). The same seed gives the same files, byte for byte.
"""

from nuclei import cli
from nuclei.data.synthetic import make_sample


def main(argv=None):
    parser = cli.make_parser(__doc__)
    parser.add_argument("--out", default="sample", help="folder to write stage1_train/ and stage1_test/ into")
    parser.add_argument("--train", type=cli.positive_int("--train"), default=24, help="labelled images")
    parser.add_argument("--test", type=cli.positive_int("--test"), default=6, help="unlabelled test images")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)

    def body(parsed):
        out = make_sample(parsed.out, parsed.train, parsed.test, parsed.seed)
        print(f"wrote {parsed.train} labelled and {parsed.test} test images under {out}")

    cli.run(body, args)


if __name__ == "__main__":
    main()
