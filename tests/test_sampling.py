"""Which images train and which validate (nuclei.training.split), and how often an epoch draws each
(nuclei.training.sampling): the one difference between the two trainers."""

import argparse

import pytest

from nuclei.errors import UserError
from nuclei.training.sampling import (
    DEFAULT_MULTIPLIERS,
    balanced_sampler,
    describe_draws,
    parse_multipliers,
    uniform_sampler,
)
from nuclei.training.split import split_ids


def test_the_plain_trainer_draws_each_image_once():
    assert uniform_sampler(["histology", "fluorescence", "histology"]) == [0, 1, 2]


def test_the_balanced_trainer_draws_each_image_as_often_as_its_type_says():
    multipliers = parse_multipliers("fluorescence=1, histology=3,brightfield=0")
    assert multipliers == {"fluorescence": 1, "histology": 3, "brightfield": 0}
    types = ["histology", "fluorescence", "brightfield", "fluorescence"]
    drawn = balanced_sampler(multipliers)(types)
    assert drawn == [0, 0, 0, 1, 3]
    assert describe_draws(types, drawn) == [
        "training images per type: brightfield 1, fluorescence 2, histology 1",
        "samples per epoch: 5 (brightfield 0, fluorescence 2, histology 3)",
    ]
    assert set(parse_multipliers(DEFAULT_MULTIPLIERS)) == {"fluorescence", "histology", "brightfield"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cats=2,fluorescence=1,histology=3,brightfield=20", "unknown image type 'cats'"),
        ("fluorescence=one,histology=3,brightfield=20", "fluorescence needs a whole number, got 'one'"),
        ("fluorescence=-1,histology=3,brightfield=20", "fluorescence must not be negative"),
        ("fluorescence=1,histology=3", "--multipliers lacks brightfield"),
    ],
)
def test_bad_multipliers_are_one_sentence(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_multipliers(text)


def typed_ids():
    types = ["fluorescence"] * 20 + ["histology"] * 5 + ["brightfield"] * 2 + ["other"]
    return [f"id{index:02d}" for index in range(len(types))], types


def test_the_split_holds_out_a_share_of_every_type_with_two_images_or_more():
    ids, types = typed_ids()
    train, val = split_ids(ids, types, val_fraction=0.1, seed=42)
    assert train == sorted(train) and val == sorted(val) and sorted(train + val) == ids
    held_out = [types[ids.index(image_id)] for image_id in val]
    assert sorted(held_out) == ["brightfield", "fluorescence", "fluorescence", "histology"]
    assert split_ids(ids, types, 0.1, seed=42) == (train, val), "the same seed, the same split"
    assert split_ids(ids, types, 0.1, seed=7).val_ids != val


def test_a_split_needs_two_images_and_never_leaves_a_side_empty():
    with pytest.raises(UserError, match="need at least 2 labelled images"):
        split_ids(["a"], ["histology"], 0.1, seed=0)
    split = split_ids(["a", "b"], ["histology", "fluorescence"], 0.1, seed=0)
    assert len(split.train_ids) == len(split.val_ids) == 1
