"""The data package (nuclei.data): reading DSB folders (dsb, loading, cache), training targets, normalisation,
crops, augmentation and the tf.data pipelines."""

import cv2
import numpy as np
import pytest

from nuclei.data import augmentation, crops, dsb, loading, normalisation, pipelines, targets
from nuclei.errors import DataError, UserError


def write_dsb_image(folder, image_id, image, masks=()):
    images_dir = folder / image_id / "images"
    images_dir.mkdir(parents=True)
    cv2.imwrite(str(images_dir / f"{image_id}.png"), image)
    if masks:
        (folder / image_id / "masks").mkdir()
    for number, mask in enumerate(masks):
        cv2.imwrite(str(folder / image_id / "masks" / f"m{number}.png"), mask)


def test_list_image_ids_sorted_and_errors(tmp_path):
    for name in ("b", "a", "c"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert dsb.list_image_ids(tmp_path) == ["a", "b", "c"]
    with pytest.raises(UserError, match="does not exist"):
        dsb.list_image_ids(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image folders"):
        dsb.list_image_ids(tmp_path / "empty")


def test_reads_16_bit_grey_as_rgb_uint8(tmp_path):
    grey16 = np.full((5, 7), 65535, dtype=np.uint16)
    grey16[0, 0] = 0
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    image = dsb.read_image(tmp_path / "g16.png")
    assert image.shape == (5, 7, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [0, 0, 0] and image[1, 1].tolist() == [255, 255, 255]


def test_reads_rgba_dropping_alpha_in_rgb_order(tmp_path):
    bgra = np.zeros((4, 4, 4), dtype=np.uint8)
    bgra[..., 0] = 10  # blue
    bgra[..., 2] = 200  # red
    bgra[..., 3] = 255
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    image = dsb.read_image(tmp_path / "rgba.png")
    assert image.shape == (4, 4, 3)
    assert image[0, 0].tolist() == [200, 0, 10]


def test_corrupt_png_is_a_data_error_naming_the_file(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match="broken.png"):
        dsb.read_image(tmp_path / "broken.png")


def test_labels_union_and_instances(tmp_path):
    mask_a = np.zeros((6, 6), np.uint8)
    mask_a[0:2, 0:2] = 255
    mask_b = np.zeros((6, 6), np.uint8)
    mask_b[3:6, 3:6] = 255
    write_dsb_image(tmp_path, "img", np.zeros((6, 6, 3), np.uint8), [mask_a, mask_b])
    sample = dsb.read_sample(tmp_path, "img")
    assert sample.labels.dtype == np.uint16
    assert sorted(np.unique(sample.labels)) == [0, 1, 2]
    assert np.count_nonzero(sample.labels == 1) == 4 and np.count_nonzero(sample.labels == 2) == 9


def test_mask_of_wrong_size_names_the_image(tmp_path):
    write_dsb_image(tmp_path, "odd", np.zeros((6, 6, 3), np.uint8), [np.zeros((5, 6), np.uint8)])
    with pytest.raises(DataError, match="odd"):
        dsb.read_sample(tmp_path, "odd")


def test_load_samples_skips_bad_images_and_reports_them(tmp_path):
    mask = np.zeros((6, 6), np.uint8)
    mask[1:3, 1:3] = 255
    write_dsb_image(tmp_path, "good", np.zeros((6, 6, 3), np.uint8), [mask])
    write_dsb_image(tmp_path, "wrong_size", np.zeros((6, 6, 3), np.uint8), [np.zeros((4, 4), np.uint8)])
    write_dsb_image(tmp_path, "no_masks", np.zeros((6, 6, 3), np.uint8))
    (tmp_path / "no_image" / "images").mkdir(parents=True)
    write_dsb_image(tmp_path, "corrupt", np.zeros((6, 6, 3), np.uint8), [mask])
    (tmp_path / "corrupt" / "images" / "corrupt.png").write_bytes(b"\x89PNG truncated")
    warnings = []
    samples, skipped = loading.load_samples(tmp_path, dsb.list_image_ids(tmp_path), progress=False, log=warnings.append)
    assert [sample.image_id for sample in samples] == ["good"]
    assert sorted(image_id for image_id, _ in skipped) == ["corrupt", "no_image", "no_masks", "wrong_size"]
    assert len(warnings) == 4 and all("warning: skipping" in line for line in warnings)


def test_known_bad_image_is_left_out_with_a_note():
    bad = next(iter(dsb.KNOWN_BAD_IMAGE_IDS))
    notes = []
    assert dsb.without_known_bad(["a", bad, "b"], log=notes.append) == ["a", "b"]
    assert len(notes) == 1 and bad in notes[0]


@pytest.mark.parametrize("image_id", ["../etc", "/abs", "a/b", "..", "", "a\\b"])
def test_image_ids_that_escape_a_folder_are_rejected(image_id):
    with pytest.raises(UserError):
        dsb.check_image_id(image_id)


def test_contact_is_where_two_nuclei_come_within_the_boundary_width():
    labels = np.zeros((12, 30), np.int32)
    labels[2:8, 2:6] = 1
    labels[2:8, 6:10] = 2  # touches nucleus 1
    labels[2:8, 13:17] = 3  # 3 pixels from nucleus 2: parted by background
    labels[2:8, 21:25] = 4  # 4 pixels from nucleus 3: too far
    contact = targets.nucleus_contact(labels, width=2)
    assert contact[4, 4:8].all() and not contact[4, 3] and not contact[4, 8]
    assert contact[4, 11] and not contact[4, 10] and not contact[4, 12], "only the gap's middle is within 2 of both"
    assert not contact[:, 17:].any(), "nuclei 4 pixels apart do not touch"
    assert not contact[10:].any()
    wide = targets.make_targets(labels, width=2)
    assert wide.shape == (12, 30, len(targets.TRAINING_TARGET_CHANNELS))
    assert np.array_equal(wide[..., 2], contact)
    assert np.array_equal(wide[..., 1], targets.nucleus_boundary(labels, width=2))
    narrow = targets.make_targets(labels, width=1)
    assert narrow[4, 5:7, 2].all() and not narrow[4, 4, 2] and not narrow[4, 11, 2], "1 pixel: only touching nuclei"
    assert narrow[4, 2:6, 1].tolist() == [1, 0, 0, 1], "a rim of 1 pixel on each side"


def test_normalisation_makes_nuclei_bright_on_every_type():
    dark = np.full((20, 20, 3), 10, np.uint8)
    dark[5:10, 5:10] = 120
    bright = np.full((20, 20, 3), 220, np.uint8)
    bright[5:10, 5:10] = 60
    for image in (dark, bright):
        normalised = normalisation.normalise_image(image)
        assert normalised[7, 7].mean() > 200 and normalised[0, 0].mean() < 30
    inputs = normalisation.model_input(dark)
    assert inputs.dtype == np.float32 and 0.0 <= inputs.min() and inputs.max() <= 1.0


def test_dense_stained_tissue_is_inverted_and_grey_fluorescence_is_not():
    """H&E tissue can be darker than mid-grey overall (its median below 127.5), yet its nuclei are the
    darkest part: its colour tells it from a crowded fluorescence image, which is never inverted."""
    rng = np.random.default_rng(0)
    tissue = np.empty((64, 64, 3), np.uint8)
    tissue[:] = (140, 80, 150)
    tissue[::8, :] = 240
    tissue[20:40, 20:40] = (50, 10, 90)
    crowded = np.full((64, 64, 3), 30, np.uint8)
    crowded[8:56, 8:56] = rng.integers(60, 120, size=(48, 48, 1))
    crowded[8:56:12, 8:56:12] = 250
    assert np.median(tissue.mean(axis=2)) < 127.5
    assert normalisation.has_bright_background(tissue)
    assert not normalisation.has_bright_background(crowded)
    assert normalisation.normalise_image(tissue)[30, 30].mean() > 200


def test_intensity_augmentation_varies_the_image_within_range_and_never_the_target():
    import tensorflow as tf

    image = np.tile(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], (64, 1, 3))
    target = np.zeros((64, 64, 2), np.float32)
    target[20:40, 20:40, 0] = 1
    plain = augmentation.Augmentation(zoom_range=(1.0, 1.0))
    varied = augmentation.Augmentation(zoom_range=(1.0, 1.0), intensity=True)
    means = []
    for seed in range(8):
        arguments = (tf.constant(image), tf.constant(target), tf.constant([seed, 5], tf.int64), 32)
        plain_image, plain_target = (array.numpy() for array in augmentation.augment(*arguments, plain))
        out_image, out_target = (array.numpy() for array in augmentation.augment(*arguments, varied))
        np.testing.assert_array_equal(out_target, plain_target)
        assert 0.0 <= out_image.min() and out_image.max() <= 1.0
        assert not np.allclose(out_image, plain_image, atol=0.02)
        means.append(out_image.mean())
    again = augmentation.augment(*arguments, varied)[0].numpy()
    np.testing.assert_array_equal(again, out_image)
    assert max(means) - min(means) > 0.1, "gamma, contrast and brightness move the crop's mean"


def test_a_wider_zoom_range_needs_a_wider_window():
    narrow = crops.CropSource([], [], 64, 0).window
    wide = crops.CropSource([], [], 64, 0, min_zoom=0.5).window
    assert narrow == 122 and wide == 182


def test_augmentation_keeps_mask_aligned_with_image():
    """A rotated, zoomed and flipped mask equals the rotated, zoomed and flipped image of it, to the
    fraction of a pixel: the target is resampled as the image is, its cut edge pixels fractional."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    target = np.zeros((92, 92, 2), np.float32)
    for _ in range(6):
        top, left = rng.integers(0, 80, size=2)
        target[top : top + 12, left : left + 9, 0] = 1
    image = np.repeat(target[..., :1], 3, axis=2)
    for seed in range(5):
        out_image, out_target = augmentation.augment(
            tf.constant(image),
            tf.constant(target),
            tf.constant([seed, 7], tf.int64),
            64,
            augmentation.Augmentation(max_blur_sigma=0),
        )
        out_image, out_target = out_image.numpy(), out_target.numpy()
        assert out_target.shape == (64, 64, 2)
        assert 0.0 <= out_target.min() and out_target.max() <= 1.0
        np.testing.assert_allclose(out_target[..., 0], out_image[..., 0], atol=1e-5)
        edge = (out_target[..., 0] > 0.01) & (out_target[..., 0] < 0.99)
        assert edge.any(), "a rotated edge cuts pixels, which get the fraction inside"


def test_augmentation_zooms_within_the_scale_range():
    import tensorflow as tf

    window = crops.CropSource([], [], 64, 0).window
    yy, xx = np.mgrid[:window, :window]
    disc = ((yy - window / 2) ** 2 + (xx - window / 2) ** 2 < 12**2).astype(np.float32)
    target = np.stack([disc, np.zeros_like(disc)], axis=-1)
    image = np.repeat(disc[..., None], 3, axis=2)
    area = disc.sum()
    low, high = augmentation.SCALE_RANGE
    ratios = []
    for seed in range(12):
        _, out_target = augmentation.augment(
            tf.constant(image),
            tf.constant(target),
            tf.constant([seed, 3], tf.int64),
            64,
            augmentation.Augmentation(max_blur_sigma=0),
        )
        ratios.append(out_target.numpy()[..., 0].sum() / area)
    assert low**2 * 0.9 < min(ratios) and max(ratios) < high**2 * 1.1
    assert max(ratios) / min(ratios) > 1.3


@pytest.mark.parametrize("blur", [0.0, 3.0])
def test_augmentation_turns_about_the_window_centre_into_the_crop_centre(blur):
    """The crop is computed directly, not cut from a rotated window: what lies at the window's centre must
    land at the crop's centre whatever the flip, angle and zoom."""
    import tensorflow as tf

    window = crops.CropSource([], [], 64, 0).window
    image = np.zeros((window, window, 3), np.float32)
    middle = window // 2
    image[middle - 3 : middle + 3, middle - 3 : middle + 3] = 1.0
    target = image[..., :2].copy()
    for seed in range(8):
        out_image, out_target = augmentation.augment(
            tf.constant(image),
            tf.constant(target),
            tf.constant([seed, 11], tf.int64),
            64,
            augmentation.Augmentation(max_blur_sigma=blur),
        )
        for channel in (out_image.numpy()[..., 0], out_target.numpy()[..., 0]):
            rows, columns = np.nonzero(channel > 0.05)
            weights = channel[rows, columns]
            centroid = (np.average(rows, weights=weights), np.average(columns, weights=weights))
            assert centroid == pytest.approx((31.5, 31.5), abs=0.6)


def test_augmentation_blurs_the_image_only_and_only_when_asked():
    """With a blur, a square's edge spreads over many grey pixels; without, only rotation greys it,
    and the target only ever by rotation."""
    import tensorflow as tf

    target = np.zeros((92, 92, 2), np.float32)
    target[30:60, 30:60, 0] = 1
    image = np.repeat(target[..., :1], 3, axis=2)
    grey_pixels, grey_target_pixels = {}, {}
    for sigma in (0.0, 3.0):
        grey_pixels[sigma] = grey_target_pixels[sigma] = 0
        for seed in range(6):
            out_image, out_target = augmentation.augment(
                tf.constant(image),
                tf.constant(target),
                tf.constant([seed, 1], tf.int64),
                64,
                augmentation.Augmentation(max_blur_sigma=sigma),
            )
            grey_pixels[sigma] += int(np.sum((out_image.numpy() > 0.05) & (out_image.numpy() < 0.95)))
            grey_target_pixels[sigma] += int(np.sum((out_target.numpy() > 0.05) & (out_target.numpy() < 0.95)))
    assert grey_pixels[3.0] > 2 * grey_pixels[0.0]
    assert grey_target_pixels[3.0] == pytest.approx(grey_target_pixels[0.0], rel=0.05)


def _coordinate_image(height, width):
    """uint8 RGB whose channels are row, column // 2 and 1, so a crop's pixels say where they came from."""
    rows, columns = np.mgrid[:height, :width]
    return np.stack([rows, columns // 2, np.ones_like(rows)], axis=-1).astype(np.uint8)


def test_training_crops_reach_every_part_of_the_image():
    """The centre crop of each window lies in the image and, over many crops, covers all of it;
    a window kept inside the image showed only the middle of a 256 x 320 image."""
    height, width, crop_size = 256, 320, 128
    image = _coordinate_image(height, width)
    source = crops.CropSource([image], [image[..., 2:]], crop_size, seed=0)
    inner = slice((source.window - crop_size) // 2, (source.window + crop_size) // 2)
    seen = np.zeros((height, width // 2), dtype=bool)
    for _ in range(300):
        window, target = source.crop(0)
        assert window.shape == (source.window, source.window, 3)
        np.testing.assert_array_equal(window[..., 2:], target)
        centre = window[inner, inner]
        assert centre[..., 2].all()
        seen[centre[..., 0], centre[..., 1]] = True
    assert seen.mean() > 0.95


def test_an_image_smaller_than_a_crop_lies_whole_in_its_centre_on_background():
    image = _coordinate_image(60, 50)
    source = crops.CropSource([image], [image[..., 2:]], 64, seed=0)
    window, _ = source.crop(0)
    assert window[..., 2].sum() == 60 * 50
    rows, columns = np.nonzero(window[..., 2])
    assert abs((rows.min() + rows.max()) / 2 - source.window / 2) <= 1
    assert abs((columns.min() + columns.max()) / 2 - source.window / 2) <= 1


def test_training_dataset_yields_augmented_batches_each_epoch():
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (70, 90, 3), dtype=np.uint8) for _ in range(3)]
    target_maps = [np.zeros((70, 90, 2), np.uint8) for _ in range(3)]
    dataset = pipelines.training_dataset(images, target_maps, [0, 1, 2, 2], crop_size=32, batch_size=2, seed=0)
    batches = list(dataset)
    assert len(batches) == 2
    assert batches[0][0].shape == (2, 32, 32, 3) and batches[0][1].shape == (2, 32, 32, 2)
    second_epoch = list(dataset)
    assert not np.allclose(batches[0][0].numpy(), second_epoch[0][0].numpy())


def test_cache_is_reused_and_invalidated_when_a_mask_changes(tmp_path):
    data = tmp_path / "stage1_train"
    mask = np.zeros((6, 6), np.uint8)
    mask[1:3, 1:3] = 255
    write_dsb_image(data, "a", np.full((6, 6, 3), 9, np.uint8), [mask])
    write_dsb_image(data, "b", np.zeros((6, 6, 3), np.uint8), [np.zeros((4, 4), np.uint8)])
    cache_dir = tmp_path / "cache"
    ids = dsb.list_image_ids(data)
    first, skipped = loading.load_samples(data, ids, progress=False, log=lambda _: None, cache_dir=cache_dir)
    second, skipped_again = loading.load_samples(data, ids, progress=False, log=lambda _: None, cache_dir=cache_dir)
    assert [s.image_id for s in second] == ["a"] and skipped_again == skipped and skipped[0][0] == "b"
    assert np.array_equal(second[0].image, first[0].image) and np.array_equal(second[0].labels, first[0].labels)
    assert isinstance(second[0].image.base, np.memmap) or isinstance(second[0].image, np.memmap)
    assert len(list(cache_dir.iterdir())) == 1

    bigger = np.zeros((6, 6), np.uint8)
    bigger[0:4, 0:4] = 255
    cv2.imwrite(str(data / "a" / "masks" / "m0.png"), bigger)
    third, _ = loading.load_samples(data, ids, progress=False, log=lambda _: None, cache_dir=cache_dir)
    assert np.count_nonzero(third[0].labels) == 16
    assert len(list(cache_dir.iterdir())) == 1, "the stale cache of the folder is removed"


def test_data_preprocessing_presents_the_original_names():
    """The original's module stays importable, and instant, its names the package's own objects."""
    import data_preprocessing as dp
    from nuclei import options
    from nuclei.data import cache
    from nuclei.prediction import inference

    modules = (augmentation, cache, crops, dsb, loading, normalisation, pipelines, targets, options, inference)
    homes = {name: module for module in modules for name in vars(module) if not name.startswith("_")}
    renamed = {"add_cache_arguments": options.add_cache_options}
    for name in dp.__all__:
        if name in renamed:
            assert getattr(dp, name) is renamed[name], name
        elif name != "DataError":
            assert getattr(dp, name) is getattr(homes[name], name), name
    assert dp.DataError is DataError
    assert {"list_image_ids", "load_samples", "make_targets", "augment", "training_dataset"} <= set(dp.__all__)


def test_a_cache_folder_reads_back_what_was_written_and_counts_only_once_complete(tmp_path):
    from nuclei.data import cache

    data = tmp_path / "stage1_train"
    mask = np.zeros((6, 8), np.uint8)
    mask[1:3, 1:3] = 255
    write_dsb_image(data, "a", np.full((6, 8, 3), 9, np.uint8), [mask])
    ids = dsb.list_image_ids(data)
    path = cache.cache_path(tmp_path / "cache", data, ids, with_labels=True)
    assert path.name.startswith("stage1_train-") and not cache.is_complete(path)
    sample = dsb.read_sample(data, "a")
    cache.write_cache(path, [sample], [("b", "no masks")])
    assert cache.is_complete(path)
    samples, skipped = cache.read_cache(path)
    assert [s.image_id for s in samples] == ["a"] and skipped == [("b", "no masks")]
    assert np.array_equal(samples[0].image, sample.image) and np.array_equal(samples[0].labels, sample.labels)
    assert cache.cache_path(tmp_path / "cache", data, ids, with_labels=False) != path


def test_a_bright_field_image_with_few_small_nuclei_is_still_inverted():
    rng = np.random.default_rng(1)
    image = np.clip(rng.normal(200, 3, size=(100, 100, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2)
    image[50:57, 50:57] = 60
    assert normalisation.has_bright_background(image)
