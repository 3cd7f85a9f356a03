"""Training under TensorFlow's distribution strategies, on CPUs: two logical devices, two local workers."""

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from conftest import PROJECT, run_script

pytestmark = pytest.mark.slow

MIRRORED_OVER_TWO_CPUS = """
import runpy, sys
from nuclei import runtime
tf = runtime.import_tensorflow()
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""trainer.py run as its command line runs it (sys.argv: the script, then its arguments), on a CPU split
into two logical devices first."""


@pytest.fixture
def workdir(sample_dir, tmp_path):
    shutil.copytree(sample_dir, tmp_path, dirs_exist_ok=True)
    return tmp_path


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def train_mirrored_over_two_cpus(workdir, batch_size):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            MIRRORED_OVER_TWO_CPUS,
            str(PROJECT / "trainer.py"),
            "32",
            "1",
            batch_size,
            "1e-3",
            "--strategy",
            "mirrored",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_mirrored_strategy_over_two_logical_cpus_trains_and_saves(workdir):
    result = train_mirrored_over_two_cpus(workdir, "4")
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((workdir / "my_model" / "config.json").read_text())
    assert config["strategy"] == {"name": "mirrored", "class": "MirroredStrategy", "replicas": 2}


def test_odd_batch_over_two_replicas_is_one_line(workdir):
    result = train_mirrored_over_two_cpus(workdir, "3")
    assert result.returncode == 1
    assert "BATCH_SIZE 3 is not divisible by the 2 replicas" in result.stderr
    assert "Traceback" not in result.stderr


def test_multiworker_without_tf_config_is_one_line(workdir):
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    result = subprocess.run(
        [sys.executable, str(PROJECT / "trainer.py"), "32", "1", "4", "1e-3", "--strategy", "multiworker"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "needs the TF_CONFIG environment variable" in result.stderr


def test_two_workers_train_together_and_the_chief_writes_a_usable_model(workdir):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    workers = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        }
        workers.append(
            subprocess.Popen(
                [sys.executable, str(PROJECT / "trainer.py"), "32", "1", "4", "1e-3", "--strategy", "multiworker"],
                cwd=workdir,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [worker.communicate(timeout=420) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, (_, errors) in zip(workers, outputs):
        assert worker.returncode == 0, errors[-3000:]
    assert "model folder written" in outputs[0][0]
    assert "model folder written" not in outputs[1][0]
    config = json.loads((workdir / "my_model" / "config.json").read_text())
    assert config["strategy"]["name"] == "multiworker" and config["strategy"]["replicas"] == 2

    predicted = run_script("generate_predictions.py", "32", "--model", "my_model", cwd=workdir)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert (workdir / "submission_stage1_test.csv").is_file()
