"""Puts model_code/ first on sys.path: SageMaker runs it as a flat folder of scripts (``import networks``),
so the tests import its modules the same way."""

import sys
from pathlib import Path

MODEL_CODE = Path(__file__).resolve().parents[2] / "model_code"
sys.path.insert(0, str(MODEL_CODE))
