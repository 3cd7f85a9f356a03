"""Fine-tuning: the model folder a run starts from (the trainers' --init), checked and recorded.

Usage::

    check_parent("models/dsb2018")                   # UserError, before TensorFlow starts, if it cannot be one
    run.parent = parent_record("models/dsb2018", run)
    sizes = with_parent_sizes(training_sizes(...), run.parent)

The new folder's config.json names its parent (folder, commit, data, when
it was trained), so a fine-tuned model can be traced back to the run that
made its starting weights. The network keeps what it learnt of the parent's
nucleus sizes, so the sizes it counts as seen are both runs' together.
"""

from pathlib import Path
from typing import Any

from nuclei.data.sizes import TrainedSizes
from nuclei.errors import UserError
from nuclei.model.folder import read_config
from nuclei.model.shape import DEFAULT_FILTERS
from nuclei.training.config import RunConfig, within_suite


def check_parent(init_dir: str | Path) -> dict[str, Any]:
    """The parent folder's config.json; UserError naming it when it is no complete model folder of this suite's
    network (another architecture's weights cannot be loaded into it)."""
    config = read_config(init_dir)
    filters = config.get("filters") or list(DEFAULT_FILTERS)
    if list(filters) != list(DEFAULT_FILTERS):
        raise UserError(f"--init {init_dir}: its U-Net has filters {filters}, this suite's {list(DEFAULT_FILTERS)}")
    return config


def parent_record(init_dir: str | Path, run: RunConfig) -> dict[str, Any]:
    """What config.json records of the parent: its folder, the suite's commit and the data that trained it, its
    script, when it finished, and its nucleus sizes; UserError when its outputs differ from the run's."""
    config = check_parent(init_dir)
    channels = config.get("target_channels") or run.target_channels
    if list(channels) != list(run.target_channels):
        raise UserError(f"--init {init_dir}: it predicts {channels}, this run trains {run.target_channels}")
    source = config.get("source") or {}
    arguments = config.get("arguments") or {}
    return {
        "folder": within_suite(str(Path(init_dir).resolve())),
        "commit": source.get("commit"),
        "modified": source.get("modified"),
        "data": arguments.get("data"),
        "script": config.get("script"),
        "finished": config.get("finished"),
        "nucleus_diameter": config.get("nucleus_diameter"),
        "nucleus_diameter_range": config.get("nucleus_diameter_range"),
    }


def with_parent_sizes(sizes: TrainedSizes | None, parent: dict[str, Any]) -> TrainedSizes | None:
    """The sizes a fine-tuned model has seen: the median of its own data (the images it is tuned for; the
    parent's where the new data has no nucleus), and the range of both runs' together."""
    median, seen = parent.get("nucleus_diameter"), parent.get("nucleus_diameter_range")
    if not (isinstance(median, int | float) and isinstance(seen, list) and len(seen) == 2):
        return sizes
    if sizes is None:
        return TrainedSizes(float(median), float(seen[0]), float(seen[1]))
    return TrainedSizes(sizes.median, min(sizes.low, float(seen[0])), max(sizes.high, float(seen[1])))
