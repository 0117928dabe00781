"""Shared fixtures for the model code tests.

model_code/ goes first on sys.path: SageMaker runs it as a flat folder of scripts (``import networks``),
so the tests import its modules the same way.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL_CODE = REPO / "model_code"
sys.path.insert(0, str(MODEL_CODE))

import sample_dataset  # noqa: E402  (needs the repository root, which pytest puts on sys.path)

# Small enough to train in seconds on a loaded 2-core machine, big enough for every code path.
TINY_TRAINING_ARGS = ["--arch", "resnet18", "--image_size", "16", "--batch_size", "16", "--augment", "false",
                      "--workers", "0"]


def training_env(**extra: str) -> dict:
    """The environment of a train.py subprocess: one thread each (tests share two cores), no SageMaker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_") and k not in ("RANK", "WORLD_SIZE")}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **extra}


def train_command(data_dir: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, str(MODEL_CODE / "train.py"), *TINY_TRAINING_ARGS,
        "--data_dir", str(data_dir), "--model_dir", str(run_dir / "model"),
        "--output_data_dir", str(run_dir / "output"), "--checkpoint_dir", str(run_dir / "checkpoints"), *extra,
    ]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """6 images per class and split, 16 px."""
    spec = sample_dataset.DatasetSpec(image_size=16, per_class_limit=6)
    return sample_dataset.build(tmp_path_factory.mktemp("tiny"), spec)


@pytest.fixture(scope="session")
def trained_run(tiny_dataset, tmp_path_factory):
    """One finished two-epoch single-process training run: (run dir, its log)."""
    run_dir = tmp_path_factory.mktemp("run")
    completed = subprocess.run(
        train_command(tiny_dataset, run_dir, "--epochs", "2", "--sagemaker_program", "train.py"),
        env=training_env(), capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return run_dir, completed.stdout
