import json
import re

import pytest
import torch

from metric_definitions import METRIC_DEFINITIONS
from model_artifacts import INFERENCE_CODE


def test_single_process_run_leaves_the_documented_artifacts(trained_run):
    run_dir, _ = trained_run
    model_dir = run_dir / "model"

    assert sorted(p.name for p in model_dir.iterdir()) == ["classes.json", "code", "metadata.json", "model.pth"]
    assert sorted(p.name for p in (model_dir / "code").iterdir()) == sorted(INFERENCE_CODE)
    assert json.loads((model_dir / "classes.json").read_text())[:2] == ["001.Zero", "002.One"]
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert (metadata["arch"], metadata["image_size"], metadata["num_classes"]) == ("resnet18", 16, 10)
    assert set(metadata["normalization"]) == {"mean", "std"}
    state = torch.load(model_dir / "model.pth", weights_only=True)
    assert state["fc.weight"].shape == (10, 512)


def test_metrics_json_reports_the_best_epoch_and_the_test_split(trained_run):
    run_dir, _ = trained_run

    metrics = json.loads((run_dir / "output" / "metrics.json").read_text())

    assert metrics["epochs"] == 2 and metrics["num_classes"] == 10
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    best = metrics["history"][metrics["best_epoch"] - 1]
    assert best["valid_accuracy"] == max(h["valid_accuracy"] for h in metrics["history"])
    assert (metrics["valid_accuracy"], metrics["valid_loss"]) == (best["valid_accuracy"], best["valid_loss"])
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0.0
    # Per-sample means over 60 images: accuracy is a multiple of 1/60.
    assert round(metrics["test_accuracy"] * 60, 6).is_integer()


def test_log_lines_feed_every_metric_definition_once_per_epoch(trained_run):
    run_dir, log = trained_run
    metrics = json.loads((run_dir / "output" / "metrics.json").read_text())

    captured = {d["Name"]: [float(v) for v in re.findall(d["Regex"], log)] for d in METRIC_DEFINITIONS}

    assert {name: len(values) for name, values in captured.items()} == {
        "train:loss": 2, "train:accuracy": 2, "valid:loss": 2, "valid:accuracy": 2, "test:loss": 1, "test:accuracy": 1,
    }
    assert captured["valid:accuracy"] == pytest.approx([h["valid_accuracy"] for h in metrics["history"]], rel=1e-5)
    assert captured["test:loss"] == pytest.approx([metrics["test_loss"]], rel=1e-5)


def test_only_the_newest_checkpoint_is_kept(trained_run):
    run_dir, _ = trained_run

    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["checkpoint-0002.pth"]
