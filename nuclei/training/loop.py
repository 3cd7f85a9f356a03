"""The training loop: one step function for every distribution strategy.

Usage::

    loop = TrainLoop(model, optimizer, strategy)
    logs = loop.run_epoch(iterator, steps, progress=True)      # {"loss": ..., "dice_coef": ..., "iou_coef": ...}
    logs |= loop.evaluate(val_dataset)                          # {"val_loss": ..., ...}

Keras's ``model.fit`` fails under MultiWorkerMirroredStrategy (keras-team/keras
#20585), while ``strategy.run`` over a distributed dataset works under every
strategy; so all training goes through this loop, single device included.
The loss of each replica is divided by the number of replicas, so that the
summed gradients are those of the global batch. The optimizer's variables are
created up front, in the strategy's scope: created lazily inside a replica
step they fail under MirroredStrategy.
"""

import keras
import numpy as np

from nuclei.model.losses import bce_dice_loss, dice_coef, iou_coef

METRICS = {"dice_coef": dice_coef, "iou_coef": iou_coef}


class TrainLoop:
    """jit_compile compiles each replica's forward and backward pass with XLA; with a
    keras.optimizers.LossScaleOptimizer (mixed precision) the loss is scaled before
    differentiation and the optimizer unscales the gradients. contact_weight weights the
    cross-entropy where touching nuclei part (nuclei.model.losses.bce_dice_loss), in training
    and validation alike."""

    def __init__(self, model, optimizer, strategy, jit_compile=False, contact_weight=0.0):
        import tensorflow as tf

        self.model = model
        self.optimizer = optimizer
        self.strategy = strategy
        replicas = strategy.num_replicas_in_sync
        if not optimizer.built:
            with strategy.scope():
                optimizer.build(model.trainable_variables)

        scales_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

        def loss_and_gradients(images, targets):
            with tf.GradientTape() as tape:
                predictions = model(images, training=True)
                loss = bce_dice_loss(targets, predictions, contact_weight)
                scaled = loss / replicas
                if scales_loss:
                    scaled = optimizer.scale_loss(scaled)
            gradients = tape.gradient(scaled, model.trainable_variables)
            return [loss] + [metric(targets, predictions) for metric in METRICS.values()], gradients

        if jit_compile:
            loss_and_gradients = tf.function(loss_and_gradients, jit_compile=True)

        def replica_step(images, targets):
            values, gradients = loss_and_gradients(images, targets)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return values

        @tf.function(reduce_retracing=True)
        def train_step(iterator):
            images, targets = next(iterator)
            results = strategy.run(replica_step, args=(images, targets))
            return [strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None) for value in results]

        @tf.function(reduce_retracing=True)
        def eval_step(images, targets):
            predictions = model(images, training=False)
            return [bce_dice_loss(targets, predictions, contact_weight)] + [
                metric(targets, predictions) for metric in METRICS.values()
            ]

        self._train_step = train_step
        self._eval_step = eval_step
        self.names = ["loss", *METRICS]

    def run_epoch(self, iterator, steps: int, progress: bool = True) -> dict[str, float]:
        """Run steps training steps from a distributed-dataset iterator; the mean of each metric."""
        bar = keras.utils.Progbar(steps, verbose=1 if progress else 0, stateful_metrics=self.names)
        totals = np.zeros(len(self.names))
        for step in range(steps):
            values = np.array([float(value) for value in self._train_step(iterator)])
            totals += values
            bar.update(step + 1, list(zip(self.names, totals / (step + 1))))
        return dict(zip(self.names, (totals / max(steps, 1)).tolist()))

    def evaluate(self, dataset) -> dict[str, float]:
        """Mean loss and metrics over a (local, undistributed) dataset, as val_* entries."""
        totals, batches = np.zeros(len(self.names)), 0
        for images, targets in dataset:
            totals += np.array([float(value) for value in self._eval_step(images, targets)])
            batches += 1
        return {f"val_{name}": value for name, value in zip(self.names, (totals / max(batches, 1)).tolist())}
