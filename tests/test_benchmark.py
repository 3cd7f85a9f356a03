"""The benchmark's training sections run the trainers' own pipeline and loop, so they must follow their arguments."""

import json

import pytest

from conftest import benchmark_module, needs_onednn, run_script

pytestmark = pytest.mark.slow


def run_benchmark(sample_dir, tmp_path, section):
    """The benchmark's section on the sample with 2 timed steps; its saved results."""
    out = tmp_path / "results.json"
    args = ("--data", sample_dir / "stage1_train", "--only", section, "--training-steps", "2", "--json", out)
    result = run_script("benchmarks/benchmark.py", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_training_section_measures_the_trainers_pipeline_on_the_sample(sample_dir, tmp_path):
    training = run_benchmark(sample_dir, tmp_path, "training")["training"]
    assert training["pipeline_images_per_s"] > 0 and training["in_memory_fit_images_per_s"] > 0
    assert training["pipeline_page_faults_per_image"] >= 0 and 0 <= training["pipeline_kernel_cpu_fraction"] <= 1


@needs_onednn
def test_onednn_section_times_training_with_the_kernels_off_and_on(sample_dir, tmp_path):
    results = run_benchmark(sample_dir, tmp_path, "onednn")
    assert results["onednn_kernels"] is True, "the suite leaves TensorFlow's oneDNN kernels on"
    onednn = results["onednn"]
    assert (onednn["onednn_off_onednn_kernels"], onednn["onednn_on_onednn_kernels"]) == (False, True)
    assert onednn["onednn_off_compute_policy"] == onednn["onednn_on_compute_policy"] == "float32"
    assert onednn["onednn_off_pipeline_images_per_s"] > 0 and onednn["on_vs_off"] > 0


def test_precision_section_times_training_in_float32_and_in_16_bits(sample_dir, tmp_path):
    precision = run_benchmark(sample_dir, tmp_path, "precision")["precision"]
    assert precision["float32_compute_policy"] == "float32"
    assert precision["mixed_compute_policy"] in ("mixed_bfloat16", "mixed_float16")
    assert precision["mixed_pipeline_images_per_s"] > 0 and precision["mixed_vs_float32"] > 0


def test_normalization_section_times_training_with_keras_and_fused_batch_normalization(sample_dir, tmp_path):
    normalization = run_benchmark(sample_dir, tmp_path, "normalization")["normalization"]
    assert (normalization["keras_batch_normalization"], normalization["fused_batch_normalization"]) == (
        "keras",
        "fused",
    )
    assert normalization["keras_compute_policy"] == normalization["fused_compute_policy"]
    assert normalization["keras_pipeline_images_per_s"] > 0 and normalization["fused_vs_keras"] > 0


def test_xla_section_times_training_run_op_by_op_and_compiled(sample_dir, tmp_path):
    xla = run_benchmark(sample_dir, tmp_path, "xla")["xla"]
    assert (xla["plain_xla"], xla["compiled_xla"]) == (False, True)
    assert xla["plain_compute_policy"] == xla["compiled_compute_policy"]
    assert xla["plain_pipeline_images_per_s"] > 0 and xla["compiled_vs_plain"] > 0


@pytest.mark.slow
def test_the_streaming_benchmark_prints_both_layouts_with_their_peak_memory(tmp_path):
    result = run_script("benchmarks/stream_memory.py", "--counts", "3", "--size", "64", "--work", tmp_path / "w")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| 3 |")]
    assert [row[1].strip() for row in rows] == ["plain folder, streamed", "DSB folder, loaded whole"]
    assert all(100 < float(row[4]) < 20000 for row in rows), "a resident size in MiB"
    assert len(list((tmp_path / "w" / "out3").glob("*_labels.tif"))) == 3


def test_the_fine_tuning_benchmark_holds_the_annotated_type_out_of_the_base_and_the_test(sample_dir, tmp_path):
    from nuclei.data.annotations import open_labelled
    from nuclei.data.dsb import list_image_ids

    fine_tune = benchmark_module("fine_tune")
    ids = list_image_ids(sample_dir / "stage1_train")
    types = {image_id: ("histology" if number < 6 else "fluorescence") for number, image_id in enumerate(ids)}
    base, labs, test = fine_tune.make_folders(sample_dir / "stage1_train", tmp_path, [2, 4], seed=0, types=types)
    histology = {image_id for image_id, kind in types.items() if kind == "histology"}
    assert {path.name for path in base.iterdir()} == set(ids) - histology
    lab = open_labelled(labs[4])
    assert lab.layout == "pairs" and len(lab.ids) == 4 and set(open_labelled(labs[2]).ids) < set(lab.ids)
    assert {path.name for path in test.iterdir()} == histology - set(lab.ids), "the test images are no one's training"
    sample = lab.read(lab.ids[0])
    assert sample.labels.max() > 0 and sample.labels.shape == sample.image.shape[:2]
