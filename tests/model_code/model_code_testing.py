"""Helpers of the model code tests: how to run train.py as SageMaker would, small and quiet.

A module of its own (not conftest) so that test modules can import it by a name no other area uses.
model_code/ goes first on sys.path: SageMaker runs it as a flat folder of scripts (``import networks``),
so the tests import its modules the same way.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODEL_CODE = REPO / "model_code"
sys.path.insert(0, str(MODEL_CODE))

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
