"""The U-Net (nuclei.model.unet), its fused batch normalization (layers), loss and metrics (losses), and the
count of its arithmetic (flops)."""

import numpy as np
import pytest

from nuclei import runtime

runtime.import_tensorflow()
import keras  # noqa: E402

from nuclei.model.flops import forward_flops  # noqa: E402
from nuclei.model.layers import FusedBatchNormalization  # noqa: E402
from nuclei.model.losses import bce_dice_loss, dice_coef, iou_coef  # noqa: E402
from nuclei.model.unet import build_unet, float32_copy  # noqa: E402


def test_unet_shapes_and_stage_names():
    model = build_unet()
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
    model = build_unet()
    conv2 = model.get_layer("down1_conv2")
    assert conv2.input.shape[-1] == 16  # fed by the first convolution's block, not by the image


@pytest.mark.parametrize("stage", ["down1", "down4", "bottom", "up4", "up1"])
def test_every_stage_adds_its_projected_input_to_its_second_convolution(stage):
    """The residual sum takes the second normalised convolution and the 1x1 projection of the stage's input."""
    model = build_unet()
    residual = model.get_layer(f"{stage}_residual")
    sources = [model.get_layer(f"{stage}_bn2").output, model.get_layer(f"{stage}_shortcut_bn").output]
    assert {id(tensor) for tensor in residual.input} == {id(tensor) for tensor in sources}
    shortcut, conv1 = model.get_layer(f"{stage}_shortcut"), model.get_layer(f"{stage}_conv1")
    assert shortcut.kernel_size == (1, 1)
    assert shortcut.input is conv1.input
    assert model.get_layer(f"{stage}_relu2").input is residual.output


def test_every_batch_normalization_is_the_fused_one():
    model = build_unet()
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 27  # two per stage and one per shortcut, nine stages
    assert all(isinstance(layer, FusedBatchNormalization) for layer in norms)


def _norm_pair(shape, seed=0):
    """Keras's BatchNormalization and the fused one, built for shape with the same random weights; and the weights."""
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    weights = [
        rng.normal(size=channels).astype(np.float32),
        rng.normal(size=channels).astype(np.float32),
        rng.normal(size=channels).astype(np.float32),
        rng.uniform(0.5, 1.5, channels).astype(np.float32),
    ]
    pair = keras.layers.BatchNormalization(momentum=0.9), FusedBatchNormalization(momentum=0.9)
    for layer in pair:
        layer.build(shape)
        layer.set_weights(weights)
    return (*pair, weights)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("training", [True, False])
def test_fused_batch_normalization_computes_what_keras_does(policy, training):
    import tensorflow as tf

    keras.mixed_precision.set_global_policy(policy)
    try:
        keras_norm, fused_norm, initial_weights = _norm_pair((4, 16, 16, 8))
        rng = np.random.default_rng(1)
        inputs = tf.cast(rng.normal(1.0, 3.0, (4, 16, 16, 8)), keras_norm.compute_dtype)
        loss_weights = rng.normal(size=(4, 16, 16, 8)).astype(np.float32)
        results = []
        for layer in (keras_norm, fused_norm):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                outputs = layer(inputs, training=training)
                loss = tf.reduce_sum(tf.cast(outputs, "float32") * loss_weights)
            gradients = tape.gradient(loss, [inputs, *layer.trainable_variables])
            results.append((outputs, gradients, layer.get_weights()))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    (keras_out, keras_grads, keras_weights), (fused_out, fused_grads, fused_weights) = results
    assert fused_out.dtype == keras_out.dtype
    tolerance = 1e-5 if policy == "float32" else 0.05
    np.testing.assert_allclose(np.float32(fused_out), np.float32(keras_out), atol=tolerance)
    for fused, expected in zip(fused_grads, keras_grads, strict=True):
        scale = float(np.abs(np.float32(expected)).max())
        np.testing.assert_allclose(np.float32(fused), np.float32(expected), atol=tolerance * scale)
    for fused, expected in zip(fused_weights, keras_weights, strict=True):
        np.testing.assert_allclose(fused, expected, rtol=1e-5)
    if training:
        assert not np.allclose(fused_weights[2], initial_weights[2]), "moving mean moved"


def test_fused_batch_normalization_leaves_what_it_cannot_fuse_to_keras():
    keras_norm, fused_norm, _ = _norm_pair((2, 5, 8))
    inputs = np.random.default_rng(2).normal(size=(2, 5, 8)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(fused_norm(inputs, training=True)), np.asarray(keras_norm(inputs, training=True)), atol=1e-6
    )
    np.testing.assert_allclose(fused_norm.get_weights()[3], keras_norm.get_weights()[3], rtol=1e-6)


def test_filters_must_match_depth():
    with pytest.raises(ValueError):
        build_unet(filters=(8, 16, 32))


def test_metrics_against_hand_computed_values():
    truth = np.zeros((1, 2, 2, 2), np.float32)
    truth[0, 0, :, 0] = 1  # two foreground pixels
    prediction = np.zeros((1, 2, 2, 2), np.float32)
    prediction[0, 0, 0, 0] = 0.9
    prediction[0, 1, 0, 0] = 0.8
    # soft Dice: (2 * 0.9 + 1) / (2 + 1.7 + 1)
    assert float(dice_coef(truth, prediction)) == pytest.approx((2 * 0.9 + 1) / (2 + 1.7 + 1), rel=1e-5)
    # thresholded IoU: intersection 1, union 3, smoothed by 1
    assert float(iou_coef(truth, prediction)) == pytest.approx((1 + 1) / (3 + 1), rel=1e-5)


def test_loss_is_small_for_a_perfect_prediction_and_large_for_the_opposite():
    truth = np.zeros((1, 8, 8, 2), np.float32)
    truth[0, 2:6, 2:6, 0] = 1
    truth[0, 2:6, 3, 1] = 1
    good = float(bce_dice_loss(truth, np.clip(truth, 1e-4, 1 - 1e-4)))
    bad = float(bce_dice_loss(truth, 1 - np.clip(truth, 1e-4, 1 - 1e-4)))
    assert good < 0.01 < 2.0 < bad


def test_contact_weight_counts_the_cross_entropy_where_nuclei_part():
    rng = np.random.default_rng(0)
    truth = (rng.random((2, 8, 8, 2)) > 0.5).astype(np.float32)
    prediction = rng.uniform(0.05, 0.95, (2, 8, 8, 2)).astype(np.float32)
    contact = np.zeros((2, 8, 8, 1), np.float32)
    contact[:, 3:5] = 1
    with_contact = np.concatenate([truth, contact], axis=-1)
    plain = float(bce_dice_loss(truth, prediction))
    assert float(bce_dice_loss(with_contact, prediction)) == pytest.approx(plain, rel=1e-6)

    pixel_bce = -(truth * np.log(prediction) + (1 - truth) * np.log(1 - prediction)).mean(axis=-1)
    weights = 1 + 4.0 * contact[..., 0]
    dice_part = plain - pixel_bce.mean()
    expected = (weights * pixel_bce).sum() / weights.sum() + dice_part
    assert float(bce_dice_loss(with_contact, prediction, 4.0)) == pytest.approx(expected, rel=1e-4)


def test_saved_model_reloads_without_custom_objects(tmp_path):
    model = build_unet(filters=(4, 8, 8, 8, 8))
    model.compile(optimizer="adam", loss=bce_dice_loss, metrics=[dice_coef, iou_coef])
    batch = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    model.fit(batch, np.zeros((2, 32, 32, 2), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(batch, verbose=0), model.predict(batch, verbose=0), atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_float32_copy_of_a_16_bit_model_has_its_weights_and_computes_in_float32(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build_unet(filters=(4, 8, 8, 8, 8))
        copy = float32_copy(model)
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
    small = forward_flops(build_unet(input_size=(32, 32)))
    large = forward_flops(build_unet(input_size=(64, 64)))
    assert large == 4 * small
    first_conv = 2 * 32 * 32 * 3 * 16 * 9
    second_conv = 2 * 32 * 32 * 16 * 16 * 9
    assert small > first_conv + second_conv


def test_trainer_functional_presents_the_original_names():
    """The original's module stays importable, its names the package's own objects."""
    import trainer_functional as tfn
    from nuclei.model import flops, layers, learning_rate, losses, unet

    expected = {
        "build_unet": unet.build_unet,
        "compile_unet": unet.compile_unet,
        "float32_copy": unet.float32_copy,
        "DEFAULT_FILTERS": unet.DEFAULT_FILTERS,
        "BATCH_NORM_MOMENTUM": unet.BATCH_NORM_MOMENTUM,
        "FusedBatchNormalization": layers.FusedBatchNormalization,
        "bce_dice_loss": losses.bce_dice_loss,
        "dice_coef": losses.dice_coef,
        "iou_coef": losses.iou_coef,
        "SMOOTH": losses.SMOOTH,
        "HoldThenCosine": learning_rate.HoldThenCosine,
        "forward_flops": flops.forward_flops,
    }
    assert set(tfn.__all__) == set(expected)
    assert all(getattr(tfn, name) is value for name, value in expected.items())
