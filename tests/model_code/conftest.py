"""Shared fixtures for the model code tests.

model_code/ goes first on sys.path: SageMaker runs it as a flat folder of scripts (``import networks``),
so the tests import its modules the same way.
"""

import subprocess
from pathlib import Path

import pytest

import sample_dataset  # needs the repository root, which pytest puts on sys.path
from model_code_testing import train_command, training_env  # also puts model_code/ first on sys.path


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
