"""One checkpoint file per epoch in the checkpoint dir, which SageMaker syncs with S3.

A managed spot job that is interrupted restarts the script from scratch with the same checkpoint dir;
``latest_checkpoint`` finds where it left off. Files are written under a temporary name and renamed, so a
kill mid-write never leaves a checkpoint that looks complete but is not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

_NAME = re.compile(r"^checkpoint-(\d+)\.pth$")


def checkpoint_path(checkpoint_dir: Path, epoch: int) -> Path:
    return checkpoint_dir / f"checkpoint-{epoch:04d}.pth"


def save_checkpoint(checkpoint_dir: Path, epoch: int, state: dict) -> Path:
    """Write the state of finished ``epoch`` and remove older checkpoints (the newest holds everything)."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(checkpoint_dir, epoch)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    os.replace(partial, path)
    for older in _checkpoints(checkpoint_dir):
        if older != path:
            older.unlink()
    return path


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    found = _checkpoints(checkpoint_dir) if checkpoint_dir.is_dir() else []
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict:
    """The saved state, on the CPU. Plain tensors, numbers and strings only: weights_only refuses
    anything that would run code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def _checkpoints(checkpoint_dir: Path) -> list[Path]:
    return sorted(p for p in checkpoint_dir.iterdir() if _NAME.match(p.name))
