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

import trainer_functional as tfn

METRICS = {"dice_coef": tfn.dice_coef, "iou_coef": tfn.iou_coef}


class TrainLoop:
    """jit_compile compiles each replica's forward and backward pass with XLA; with a
    keras.optimizers.LossScaleOptimizer (mixed precision) the loss is scaled before
    differentiation and the optimizer unscales the gradients. contact_weight weights the
    cross-entropy where touching nuclei part (trainer_functional.bce_dice_loss), in training
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
                loss = tfn.bce_dice_loss(targets, predictions, contact_weight)
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
            return [tfn.bce_dice_loss(targets, predictions, contact_weight)] + [
                metric(targets, predictions) for metric in METRICS.values()
            ]

        self._train_step = train_step
        self._eval_step = eval_step
        self.names = ["loss", *METRICS]

    def run_epoch(self, iterator, steps, progress=True):
        """Run steps training steps from a distributed-dataset iterator; the mean of each metric."""
        bar = keras.utils.Progbar(steps, verbose=1 if progress else 0, stateful_metrics=self.names)
        totals = np.zeros(len(self.names))
        for step in range(steps):
            values = np.array([float(value) for value in self._train_step(iterator)])
            totals += values
            bar.update(step + 1, list(zip(self.names, totals / (step + 1))))
        return dict(zip(self.names, (totals / max(steps, 1)).tolist()))

    def evaluate(self, dataset):
        """Mean loss and metrics over a (local, undistributed) dataset, as val_* entries."""
        totals, batches = np.zeros(len(self.names)), 0
        for images, targets in dataset:
            totals += np.array([float(value) for value in self._eval_step(images, targets)])
            batches += 1
        return {f"val_{name}": value for name, value in zip(self.names, (totals / max(batches, 1)).tolist())}


class _Schedule:
    """What the training loop asks of a learning-rate schedule.

    ``optimizer_learning_rate`` is what the optimizer is built with; ``update``
    is called after each epoch; ``state`` goes into the checkpoint, so that a
    resumed run follows the same schedule.
    """

    def __init__(self, optimizer, state=None):
        self.optimizer = optimizer
        self.state = dict(state or self.initial_state())

    @staticmethod
    def initial_state():
        return {}

    @staticmethod
    def optimizer_learning_rate(learning_rate, total_steps):
        return learning_rate

    @property
    def learning_rate(self):
        return float(np.asarray(self.optimizer.learning_rate))

    def update(self, val_loss):
        """Record an epoch's validation loss; returns the learning rate for the next epoch."""
        return self.learning_rate

    @staticmethod
    def first_epoch_worth_scoring(epochs):
        """The first epoch (from 0) whose weights may be the run's best: any, unless the schedule says otherwise."""
        return 0

    @staticmethod
    def can_end_after(finished_epochs, total_epochs, planned_epochs):
        """Whether a run finished_epochs in, planned to end after planned_epochs, may end after total_epochs
        instead (a time limit's plan): yes, where the rate does not depend on the run's end. Stopping now is
        always possible and not asked."""
        return True

    def end_after(self, total_epochs, steps_per_epoch):
        """Make the learning rate follow a run of total_epochs epochs (a time limit's plan)."""


class PlateauSchedule(_Schedule):
    """Halve the learning rate (down to MIN_LR) when the validation loss has not improved for PATIENCE epochs."""

    FACTOR, PATIENCE, MIN_LR = 0.5, 3, 1e-5

    @staticmethod
    def initial_state():
        return {"best": float("inf"), "wait": 0}

    def update(self, val_loss):
        if val_loss < self.state["best"]:
            self.state = {"best": val_loss, "wait": 0}
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.PATIENCE and self.learning_rate > self.MIN_LR:
                self.optimizer.learning_rate.assign(max(self.learning_rate * self.FACTOR, self.MIN_LR))
                self.state["wait"] = 0
        return self.learning_rate


class CosineSchedule(_Schedule):
    """The learning rate follows a cosine from its start value down to ALPHA of it over the whole run.

    The decay is a Keras schedule inside the optimizer, driven by the
    optimizer's step count, which the checkpoint keeps; nothing to update.
    """

    ALPHA = 0.02

    @staticmethod
    def optimizer_learning_rate(learning_rate, total_steps):
        return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps, alpha=CosineSchedule.ALPHA)

    @staticmethod
    def can_end_after(finished_epochs, total_epochs, planned_epochs):
        """Only as planned: the decay spans the whole run, so another end changes every rate so far."""
        return total_epochs == planned_epochs


class AnnealSchedule(_Schedule):
    """The learning rate stays at its start value, then follows a cosine down to ALPHA of it over the
    last ANNEAL_FRACTION of the run's steps (a warmup-stable-decay schedule without the warm-up).

    Short runs need the full rate for most of their steps; the final descent
    settles the weights that a constant rate leaves jumping about. Driven by
    the optimizer's step count, like CosineSchedule, so it resumes exactly.
    """

    ALPHA, ANNEAL_FRACTION = 0.02, 0.25

    @staticmethod
    def optimizer_learning_rate(learning_rate, total_steps):
        return tfn.HoldThenCosine(learning_rate, total_steps, AnnealSchedule.ANNEAL_FRACTION, AnnealSchedule.ALPHA)

    @staticmethod
    def first_epoch_worth_scoring(epochs):
        """The epoch (from 0) in which the decay begins. The weights of the constant rate before it jump
        about: 13 of the 14 annealed runs in docs/quality-log.md kept an epoch of the decay."""
        return int(epochs * (1.0 - AnnealSchedule.ANNEAL_FRACTION))

    @staticmethod
    def can_end_after(finished_epochs, total_epochs, planned_epochs):
        """Sooner, always: where the decay moves into the past, the rate drops to where it would be (a
        shorter descent beats none). Later, only while the rate is held, lest it rise again."""
        return total_epochs <= planned_epochs or finished_epochs <= total_epochs * (
            1.0 - AnnealSchedule.ANNEAL_FRACTION
        )

    def end_after(self, total_epochs, steps_per_epoch):
        """Move the decay to the last quarter of a run of total_epochs. Keras has no public accessor for an
        optimizer's schedule object, hence the private attribute."""
        optimizer = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        optimizer._learning_rate.set_total_steps(total_epochs * steps_per_epoch)


SCHEDULES = {"plateau": PlateauSchedule, "cosine": CosineSchedule, "anneal": AnnealSchedule}
