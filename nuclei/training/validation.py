"""Scoring the validation images: every epoch's competition score, and the run's closing report.

Usage::

    score = epoch_score(model, val_samples)                       # after an epoch
    summary = write_report(model, val_samples, val_types, work_dir)  # once, at the end

Both tune the post-processing on the validation images themselves, so the
score is the number the finished model folder delivers there.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nuclei.data.dsb import Sample
from nuclei.evaluation.scores import format_summary, score_labels, summarise
from nuclei.files import atomic_write_json
from nuclei.prediction.inference import predict_probabilities, predict_with_and_without_flips
from nuclei.prediction.instances import label_nuclei
from nuclei.prediction.tuning import best_per_method, tune_postprocessing


def epoch_score(model, val_samples: list[Sample]) -> float:
    """The competition score of the validation images, post-processing tuned on them, without flips.

    The yardstick of each epoch: the number the finished folder delivers
    (less the small gain of flip averaging), which the loss does not track.
    """
    images = [sample.image for sample in val_samples]
    probabilities = [prediction for _, prediction in predict_probabilities(model, images, progress=False)]
    return tune_postprocessing(probabilities, [sample.labels for sample in val_samples]).score


def _tune_with_and_without_flips(model, val_samples, log):
    """(tta, best parameters, table, probabilities, {tta: score}) for the better of plain and flip-averaged maps."""
    images = [sample.image for sample in val_samples]
    truths = [sample.labels for sample in val_samples]
    plain, averaged = [None] * len(images), [None] * len(images)
    for index, plain_map, averaged_map in predict_with_and_without_flips(model, images, progress=False):
        plain[index], averaged[index] = plain_map, averaged_map
    scores, tuned = {}, {}
    for tta, probabilities in ((False, plain), (True, averaged)):
        best, scores[tta], table = tune_postprocessing(probabilities, truths)
        tuned[tta] = (best, table, probabilities)
        log(f"validation score {'with' if tta else 'without'} flip averaging: {scores[tta]:.3f}")
    tta = scores[True] > scores[False]
    return (tta, *tuned[tta], scores)


def write_report(
    model, val_samples: list[Sample], val_types: list[str], work_dir: Path, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Tune post-processing and test-time flips on the validation images; report Dice and score per image type.

    Writes postprocessing.json (the best parameters, whether flip averaging
    helped, and the whole table) and validation_report.json (one row per
    validation image and the per-type means) into work_dir, and returns the
    per-type summary.
    """
    tta, best, table, probabilities, scores = _tune_with_and_without_flips(model, val_samples, log)
    per_method = best_per_method(table)
    for method, row in per_method.items():
        log(f"validation score with {method}: {row['score']:.3f}")
    atomic_write_json(work_dir / "postprocessing.json", {"parameters": best, "tta": tta, "table": table})
    rows = [
        {"ImageId": sample.image_id, "image_type": image_type, **score_labels(sample.labels, label_nuclei(maps, best))}
        for sample, image_type, maps in zip(val_samples, val_types, probabilities)
    ]
    summary = {key: summarise(rows, key) for key in ("dice", "score")}
    log(format_summary(summary["dice"], "validation Dice"))
    log(format_summary(summary["score"], "validation competition score"))
    report = {
        "postprocessing": best,
        "tta": tta,
        "score_without_tta": scores[False],
        "score_with_tta": scores[True],
        "best_per_method": per_method,
        "summary": summary,
        "images": rows,
    }
    atomic_write_json(work_dir / "validation_report.json", report)
    return summary
