"""The U-Net's batch normalization: Keras's layer computed by TensorFlow's fused kernel.

Registered with Keras (package "nuclei"), so that ``keras.saving.load_model``
finds it once this module is imported. Model folders saved before the fused
layer existed hold Keras's own BatchNormalization and load as they are.
"""

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="nuclei")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's BatchNormalization computed by TensorFlow's fused kernel on 4-D channels-last tensors.

    Keras 3 normalises in separate float32 operations (cast, mean, variance,
    scale, cast back), each a pass over the tensor and its gradient; on a CPU
    in bfloat16 that was a large part of every training step. The fused
    kernel takes the 16-bit tensor as it is and computes its statistics in
    float32 (the benchmark's normalization section measures the two). Same
    weights, configuration and moving statistics as the Keras layer; anything
    else it does not cover (a mask, renormalisation, another backend or
    layout) goes to the Keras layer.
    """

    def _fusable(self, inputs, mask):
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and self.scale
            and self.center
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        gamma, beta = ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32")
        if training and self.trainable:
            outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), "float32")
            variance = unbiased_variance * (count - 1.0) / count
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs,
                gamma,
                beta,
                mean=ops.cast(self.moving_mean, "float32"),
                variance=ops.cast(self.moving_variance, "float32"),
                epsilon=self.epsilon,
                is_training=False,
            )
        return ops.cast(outputs, self.compute_dtype)
