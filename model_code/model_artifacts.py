"""What a finished training job leaves behind: the model dir (model.tar.gz) and metrics.json.

The model dir carries its own inference code so that the SageMaker PyTorch inference container (or
local AWS's model server) needs nothing but ``model.tar.gz``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
import torchvision

MODEL_CODE_DIR = Path(__file__).resolve().parent
# inference.py and every module of ours it imports, plus what the container must pip install.
INFERENCE_CODE = ("inference.py", "dataset_layout.py", "networks.py", "preprocessing.py", "requirements.txt")
WEIGHTS_FILE = "model.pth"
CLASSES_FILE = "classes.json"
METADATA_FILE = "metadata.json"
METRICS_FILE = "metrics.json"


def write_model_dir(model_dir: Path, state_dict: dict, classes: list[str], metadata: dict) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(state_dict, model_dir / WEIGHTS_FILE)
    _write_json(model_dir / CLASSES_FILE, classes)
    _write_json(
        model_dir / METADATA_FILE,
        {**metadata, "torch_version": torch.__version__, "torchvision_version": torchvision.__version__},
    )
    code_dir = model_dir / "code"
    code_dir.mkdir(exist_ok=True)
    for name in INFERENCE_CODE:
        shutil.copy2(MODEL_CODE_DIR / name, code_dir / name)


def write_metrics(output_data_dir: Path, metrics: dict) -> Path:
    output_data_dir.mkdir(parents=True, exist_ok=True)
    return _write_json(output_data_dir / METRICS_FILE, metrics)


def _write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value, indent=2) + "\n")
    return path
