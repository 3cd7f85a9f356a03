"""Choosing TensorFlow's distribution strategy for training, and who writes the results.

Usage::

    strategy = make_strategy("auto")          # before any other TensorFlow work
    if is_chief(strategy): ...                # only the chief writes the model folder

``auto``: MirroredStrategy when more than one GPU is visible, otherwise the
default (single-device) strategy. ``mirrored``: MirroredStrategy over every
visible GPU (or the logical CPU devices). ``multiworker``:
MultiWorkerMirroredStrategy configured from the standard ``TF_CONFIG``
variable; the batch size given to the trainers is then the global batch.
"""

import json
import os

from nuclei.errors import UserError
from nuclei.runtime import import_tensorflow, stderr_silenced

STRATEGIES = ("auto", "none", "mirrored", "multiworker")


def _check_tf_config():
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise UserError("--strategy multiworker needs the TF_CONFIG environment variable (see the README)")
    try:
        config = json.loads(text)
        config["cluster"], config["task"]["type"], config["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"TF_CONFIG is not a valid cluster description: {error}") from None


def make_strategy(name: str):
    """The tf.distribute strategy for name (one of STRATEGIES); call it before other TensorFlow work."""
    tf = import_tensorflow()
    with stderr_silenced():
        if name == "multiworker":
            _check_tf_config()
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        elif name == "mirrored" or (name == "auto" and len(tf.config.list_physical_devices("GPU")) > 1):
            strategy = tf.distribute.MirroredStrategy()
        else:
            strategy = tf.distribute.get_strategy()
        tf.config.list_logical_devices()
    return strategy


def worker_role(strategy) -> tuple[str, int]:
    """(task type, task index) of this process; ("chief", 0) when not multi-worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "chief", 0
    return resolver.task_type, resolver.task_id


def is_chief(strategy) -> bool:
    """True for the process that writes files: the chief, or worker 0 of a cluster without one."""
    task_type, task_id = worker_role(strategy)
    if task_type == "chief":
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster
