"""show_results.py in real OpenCV windows on a virtual X server (Xvfb), driven with xdotool."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import PROJECT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Debian's xvfb and xdotool"
    ),
]


@pytest.fixture
def display():
    number = 90 + os.getpid() % 50
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"])
    time.sleep(1.5)
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def wait_for_window(name, env, viewer, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and viewer.poll() is None:
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", f"^{name}"],
            env=env,
            capture_output=True,
            text=True,
        )
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.5)
    output, errors = viewer.communicate(timeout=30) if viewer.poll() is not None else ("", "")
    raise AssertionError(f"no window named {name} appeared; viewer exit {viewer.poll()}: {output} {errors[-2000:]}")


def press(window, key, env):
    """Focus the window (there is no window manager to activate it) and type key through XTEST."""
    subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, timeout=30)
    subprocess.run(["xdotool", "key", key], env=env, timeout=30)


def test_windows_appear_any_key_moves_on_and_a_quits(display, tmp_path):
    from nuclei.data.synthetic import make_sample

    make_sample(tmp_path, train_count=3, test_count=1, seed=5)
    train = subprocess.run(
        [sys.executable, str(PROJECT / "trainer.py"), "32", "1", "4", "1e-3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert train.returncode == 0, train.stderr[-2000:]
    env = {**os.environ, "DISPLAY": display, "PYTHONUNBUFFERED": "1"}
    viewer = subprocess.Popen(
        [sys.executable, str(PROJECT / "show_results.py"), "32", "--seed", "1"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for name in ("input", "predict", "overlay"):
            wait_for_window(name, env, viewer)
        window = wait_for_window("input", env, viewer)
        press(window, "n", env)
        time.sleep(3)
        for _ in range(3):
            press(wait_for_window("input", env, viewer), "a", env)
            try:
                viewer.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue
        output, errors = viewer.communicate(timeout=60)
    finally:
        if viewer.poll() is None:
            viewer.kill()
    assert viewer.returncode == 0, errors[-2000:]
    captions = [line for line in output.splitlines() if "Dice" in line]
    assert len(captions) >= 2, output
