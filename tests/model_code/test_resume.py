import json
import re
import signal
import subprocess
import time

import pytest

from checkpoints import latest_checkpoint, save_checkpoint
from model_code_testing import train_command, training_env

EPOCHS = "6"


def kill_after_first_checkpoint(command, checkpoint_dir, timeout=120.0):
    process = subprocess.Popen(command, env=training_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while latest_checkpoint(checkpoint_dir) is None:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    return process.returncode


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_newest_checkpoint_and_ends_like_an_uninterrupted_one(tiny_dataset, tmp_path):
    interrupted = tmp_path / "interrupted"
    command = train_command(tiny_dataset, interrupted, "--epochs", EPOCHS)

    assert kill_after_first_checkpoint(command, interrupted / "checkpoints") == -signal.SIGKILL
    assert not (interrupted / "output" / "metrics.json").exists() and not (interrupted / "model").exists()
    done = int(re.search(r"checkpoint-(\d+)", latest_checkpoint(interrupted / "checkpoints").name).group(1))
    assert 1 <= done < int(EPOCHS)

    resumed = subprocess.run(command, env=training_env(), capture_output=True, text=True, timeout=300)

    assert resumed.returncode == 0, resumed.stderr
    assert f"checkpoint-{done:04d}.pth after epoch {done}" in resumed.stdout
    trained_epochs = [int(e) for e in re.findall(r"^epoch=(\d+) train:loss=", resumed.stdout, re.MULTILINE)]
    assert trained_epochs == list(range(done + 1, int(EPOCHS) + 1))
    uninterrupted = tmp_path / "uninterrupted"
    subprocess.run(train_command(tiny_dataset, uninterrupted, "--epochs", EPOCHS), env=training_env(), check=True,
                   capture_output=True, timeout=300)
    resumed_metrics = json.loads((interrupted / "output" / "metrics.json").read_text())
    reference_metrics = json.loads((uninterrupted / "output" / "metrics.json").read_text())
    # Same seed, same per-epoch shuffles, restored optimizer, scheduler and RNG: the same training.
    for resumed_epoch, reference_epoch in zip(resumed_metrics.pop("history"), reference_metrics.pop("history"),
                                              strict=True):
        assert figures(resumed_epoch) == pytest.approx(figures(reference_epoch), rel=1e-4)
    assert resumed_metrics == pytest.approx(reference_metrics, rel=1e-4)


def figures(epoch: dict) -> dict:
    return {k: v for k, v in epoch.items() if k not in ("train_seconds", "train_images_per_second")}


def test_a_checkpoint_of_another_run_is_refused(tiny_dataset, tmp_path):
    run_dir = tmp_path / "run"
    subprocess.run(train_command(tiny_dataset, run_dir, "--epochs", "1"), env=training_env(), check=True,
                   capture_output=True, timeout=300)

    changed = subprocess.run(train_command(tiny_dataset, run_dir, "--epochs", "1", "--learning_rate", "0.1"),
                             env=training_env(), capture_output=True, text=True, timeout=300)

    assert changed.returncode != 0
    assert "belongs to a run with other learning_rate; use an empty --checkpoint_dir" in changed.stderr


def test_newest_checkpoint_wins_and_partial_files_are_ignored(tmp_path):
    for epoch in (1, 2):
        save_checkpoint(tmp_path, epoch, {"epoch": epoch})
    (tmp_path / "checkpoint-0003.pth.partial").write_bytes(b"half")

    assert latest_checkpoint(tmp_path).name == "checkpoint-0002.pth"
    assert latest_checkpoint(tmp_path / "absent") is None
