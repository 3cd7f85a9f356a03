import numpy as np
import pytest

import cli

cli.import_tensorflow()
import keras  # noqa: E402

import trainer_functional as tfn  # noqa: E402


def test_unet_shapes_and_stage_names():
    model = tfn.build_unet()
    for size in ((64, 64), (32, 96)):
        output = model(np.zeros((2, *size, 3), np.float32))
        assert tuple(output.shape) == (2, *size, 2)
    names = {layer.name for layer in model.layers}
    assert {"down1_conv1", "down1_conv2", "bottom_conv1", "up1_conv2", "output"} <= names
    widths = [model.get_layer(f"down{d}_conv1").filters for d in range(1, 5)] + [
        model.get_layer("bottom_conv1").filters
    ]
    assert widths == [16, 32, 64, 128, 256]


def test_every_down_stage_has_two_convolutions_in_sequence():
    model = tfn.build_unet()
    conv2 = model.get_layer("down1_conv2")
    assert conv2.input.shape[-1] == 16  # fed by the first convolution's block, not by the image


def test_filters_must_match_depth():
    with pytest.raises(ValueError):
        tfn.build_unet(filters=(8, 16, 32))


def test_metrics_against_hand_computed_values():
    truth = np.zeros((1, 2, 2, 2), np.float32)
    truth[0, 0, :, 0] = 1  # two foreground pixels
    prediction = np.zeros((1, 2, 2, 2), np.float32)
    prediction[0, 0, 0, 0] = 0.9
    prediction[0, 1, 0, 0] = 0.8
    # soft Dice: (2 * 0.9 + 1) / (2 + 1.7 + 1)
    assert float(tfn.dice_coef(truth, prediction)) == pytest.approx((2 * 0.9 + 1) / (2 + 1.7 + 1), rel=1e-5)
    # thresholded IoU: intersection 1, union 3, smoothed by 1
    assert float(tfn.iou_coef(truth, prediction)) == pytest.approx((1 + 1) / (3 + 1), rel=1e-5)


def test_loss_is_small_for_a_perfect_prediction_and_large_for_the_opposite():
    truth = np.zeros((1, 8, 8, 2), np.float32)
    truth[0, 2:6, 2:6, 0] = 1
    truth[0, 2:6, 3, 1] = 1
    good = float(tfn.bce_dice_loss(truth, np.clip(truth, 1e-4, 1 - 1e-4)))
    bad = float(tfn.bce_dice_loss(truth, 1 - np.clip(truth, 1e-4, 1 - 1e-4)))
    assert good < 0.01 < 2.0 < bad


def test_contact_weight_counts_the_cross_entropy_where_nuclei_part():
    rng = np.random.default_rng(0)
    truth = (rng.random((2, 8, 8, 2)) > 0.5).astype(np.float32)
    prediction = rng.uniform(0.05, 0.95, (2, 8, 8, 2)).astype(np.float32)
    contact = np.zeros((2, 8, 8, 1), np.float32)
    contact[:, 3:5] = 1
    with_contact = np.concatenate([truth, contact], axis=-1)
    plain = float(tfn.bce_dice_loss(truth, prediction))
    assert float(tfn.bce_dice_loss(with_contact, prediction)) == pytest.approx(plain, rel=1e-6)

    pixel_bce = -(truth * np.log(prediction) + (1 - truth) * np.log(1 - prediction)).mean(axis=-1)
    weights = 1 + 4.0 * contact[..., 0]
    dice_part = plain - pixel_bce.mean()
    expected = (weights * pixel_bce).sum() / weights.sum() + dice_part
    assert float(tfn.bce_dice_loss(with_contact, prediction, 4.0)) == pytest.approx(expected, rel=1e-4)


def test_saved_model_reloads_without_custom_objects(tmp_path):
    model = tfn.build_unet(filters=(4, 8, 8, 8, 8))
    model.compile(optimizer="adam", loss=tfn.bce_dice_loss, metrics=[tfn.dice_coef, tfn.iou_coef])
    batch = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    model.fit(batch, np.zeros((2, 32, 32, 2), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), model.predict(batch, verbose=0), atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_float32_copy_of_a_16_bit_model_has_its_weights_and_computes_in_float32(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = tfn.build_unet(filters=(4, 8, 8, 8, 8))
        copy = tfn.float32_copy(model)
        assert keras.mixed_precision.global_policy().name == policy, "the copy leaves the global policy as it was"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("down1_conv1").compute_dtype == policy.removeprefix("mixed_")
    assert copy.dtype_policy.name == "float32", "else compile() would wrap its optimizer in loss scaling"
    assert {layer.compute_dtype for layer in copy.layers} == {"float32"}
    for original, copied in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(original, copied)
    batch = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(copy(batch)), np.asarray(model(batch)), atol=0.05)


def test_forward_flops_counts_every_convolution():
    small = tfn.forward_flops(tfn.build_unet(input_size=(32, 32)))
    large = tfn.forward_flops(tfn.build_unet(input_size=(64, 64)))
    assert large == 4 * small
    first_conv = 2 * 32 * 32 * 3 * 16 * 9
    second_conv = 2 * 32 * 32 * 16 * 16 * 9
    assert small > first_conv + second_conv
