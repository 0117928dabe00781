"""Training benchmark: train.py's throughput against a bare PyTorch loop, and the local settings' accuracy.

    .venv/bin/python bench/bench_training.py [--throughput-epochs 12] [--runs 2]

The local settings are the pipeline's `local` profile (plugins/dog_breed/config.py): its fixed
`extra_hyperparameters`, the top of its epochs range, its largest batch size and the geometric middle of
its learning-rate range, on the full sample dataset that `python -m sample_dataset` builds.

(a) Throughput. Training images/s of train.py's training loop (its parser, loader, optimizer and
    ``train_one_epoch``) against a bare loop over the same network, batch size, optimizer and input size
    whose inputs are the same images, decoded and normalised in memory before the clock starts. The two
    alternate step by step in one process (this machine is shared: load from other processes then hits
    both alike); per epoch, the ratio of the two rates. Epoch 1 (warm-up) is left out. Target: median
    ratio >= 0.9, i.e. the data pipeline is not the bottleneck. Also printed: the time train.py's loader
    and normalisation alone take for an epoch.
(b) Accuracy. train.py as a process with exactly the local settings: test accuracy (target >= 0.90) and
    wall time from process start to exit (decoding, training, evaluation, writing the artifacts).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "model_code"), str(REPO / "plugins")]

TARGET_RATIO = 0.9
TARGET_ACCURACY = 0.90


def local_settings() -> dict[str, str]:
    """train.py hyperparameters of a local run, as the pipeline's local profile would choose them."""
    from dog_breed.environment import profile_defaults

    profile = profile_defaults("local")
    low, high = profile["learning_rate_min"], profile["learning_rate_max"]
    return {**profile["extra_hyperparameters"], "epochs": str(profile["epochs_max"]),
            "batch_size": str(max(profile["batch_sizes"])), "learning_rate": f"{math.sqrt(low * high):.6g}"}


def as_arguments(settings: dict[str, str]) -> list[str]:
    return [token for name, value in settings.items() for token in (f"--{name}", value)]


def run_train_py(settings: dict[str, str], data_dir: Path, run_dir: Path) -> dict:
    command = [sys.executable, str(REPO / "model_code" / "train.py"), *as_arguments(settings),
               "--data_dir", str(data_dir), "--model_dir", str(run_dir / "model"),
               "--output_data_dir", str(run_dir / "output"), "--checkpoint_dir", str(run_dir / "checkpoints")]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    metrics = json.loads((run_dir / "output" / "metrics.json").read_text())
    return {"wall_seconds": wall, "test_accuracy": metrics["test_accuracy"],
            "images_per_second": [epoch["train_images_per_second"] for epoch in metrics["history"]]}


class StepInterleaved:
    """train.py's loader with one bare-loop step run (and timed) before each batch it hands out.

    train.py's ``train_one_epoch`` iterates it unchanged; its own steps and the bare ones then alternate
    every few milliseconds, so load from other processes on this shared machine hits both alike, and
    its measured time minus ``bare_seconds`` is its own.
    """

    def __init__(self, loader, bare_step):
        self.loader, self.bare_step = loader, bare_step
        self.sampler = loader.sampler
        self.bare_seconds, self.bare_images = 0.0, 0

    def __iter__(self):
        for batch in self.loader:
            started = time.perf_counter()
            self.bare_images += self.bare_step()
            self.bare_seconds += time.perf_counter() - started
            yield batch


def throughput(settings: dict[str, str], data_dir: Path, epochs: int) -> tuple[list[float], list[float], float]:
    """Per-epoch images/s of train.py's training loop and of a bare loop, steps interleaved in this process.

    train.py's side is its own code: the hyperparameters through its parser, its loader over the decoded
    uint8 images (sampler, batching, per-batch normalisation), its optimizer and ``train_one_epoch``
    (metric bookkeeping included). The bare side indexes images normalised before the clock starts.
    Also returns the seconds train.py's loader and normalisation alone take for an epoch.
    """
    import torch
    import torch.nn.functional as F

    import train
    from distributed import SINGLE_PROCESS
    from image_folders import load_dataset
    from networks import build_model, trainable_parameters
    from preprocessing import normalize

    args = train.parse_args([*as_arguments(settings), "--data_dir", str(data_dir), "--model_dir", "unused",
                             "--output_data_dir", "unused"])
    data = load_dataset(data_dir, args.image_size)
    split, device = data.splits["train"], torch.device("cpu")

    torch.manual_seed(args.seed)
    model = build_model(args.arch, len(data.classes), args.pretrained, args.freeze_backbone)
    optimizer = train.build_optimizer(args, trainable_parameters(model))
    loader = train.build_train_loader(args, split, SINGLE_PROCESS)

    torch.manual_seed(args.seed)
    bare_model = build_model(args.arch, len(data.classes)).train()
    bare_optimizer = torch.optim.AdamW(bare_model.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay)
    images, labels = normalize(split.images), split.labels

    def bare_step() -> int:
        batch = torch.randint(len(labels), (args.batch_size,))
        loss = F.cross_entropy(bare_model(images[batch]), labels[batch])
        bare_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        bare_optimizer.step()
        return len(batch)

    ours, bare = [], []
    for epoch in range(1, epochs + 1):
        interleaved = StepInterleaved(loader, bare_step)
        interleaved.sampler.set_epoch(epoch)
        _, _, seen, seconds = train.train_one_epoch(model, interleaved, optimizer, device, args.freeze_backbone)
        ours.append(seen / (seconds - interleaved.bare_seconds))
        bare.append(interleaved.bare_images / interleaved.bare_seconds)

    def pipeline_only(epoch: int) -> float:
        loader.sampler.set_epoch(epoch)
        started = time.perf_counter()
        for batch_images, _ in loader:
            normalize(batch_images.to(device))
        return time.perf_counter() - started

    pipeline_seconds = statistics.median(pipeline_only(epoch) for epoch in range(epochs + 1, epochs + 6))
    return ours, bare, pipeline_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--throughput-epochs", type=int, default=12, help="epochs of (a)")
    parser.add_argument("--runs", type=int, default=2, help="train.py runs with the local settings in (b)")
    args = parser.parse_args()
    settings = local_settings()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-training-") as scratch:
        scratch = Path(scratch)
        # In a process of its own: scikit-learn loads a second OpenMP runtime (its own libgomp) beside
        # torch's, which has no place in the process that measures torch.
        subprocess.run([sys.executable, "-m", "sample_dataset", "--out", str(scratch), "--image-size",
                        settings["image_size"]], check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        data_dir = scratch / "dogImages"
        num_train = sum(1 for _ in (data_dir / "train").rglob("*.jpg"))
        ours, bare, pipeline_seconds = throughput({**settings, "epochs": str(args.throughput_epochs)}, data_dir, args.throughput_epochs)
        runs = [run_train_py(settings, data_dir, scratch / f"run-{number}") for number in range(args.runs)]
    # Epoch 1 warms up allocator and caches; it is left out on both sides.
    ours, bare = ours[1:], bare[1:]
    pair_ratio = statistics.median(o / b for o, b in zip(ours, bare))

    print(f"machine: {os.cpu_count()} cores, 1-minute load average {load_before:.1f} at start and "
          f"{os.getloadavg()[0]:.1f} at end (shared with other processes)")
    print(f"local settings: {' '.join(as_arguments(settings))}")
    print(f"(a) train.py loop images/s: median {statistics.median(ours):7.1f}  best {max(ours):7.1f}")
    print(f"    bare loop     images/s: median {statistics.median(bare):7.1f}  best {max(bare):7.1f}"
          f"   ({len(ours)} epochs, steps interleaved)")
    print(f"    ratio train.py / bare loop: {pair_ratio:.3f} (median of per-epoch ratios), "
          f"{max(ours) / max(bare):.3f} (best epochs)   target >= {TARGET_RATIO}: "
          f"{'met' if pair_ratio >= TARGET_RATIO else 'MISSED'}")
    epoch_seconds = num_train / statistics.median(ours)
    print(f"    train.py's loader and normalisation alone: {pipeline_seconds * 1000:.1f} ms per epoch, "
          f"{pipeline_seconds / epoch_seconds:.2%} of its median training epoch")
    for number, run in enumerate(runs, 1):
        met = "met" if run["test_accuracy"] >= TARGET_ACCURACY else "MISSED"
        print(f"(b) run {number}: test accuracy {run['test_accuracy']:.4f} (target >= {TARGET_ACCURACY}: {met}), "
              f"wall time {run['wall_seconds']:.1f} s for {settings['epochs']} epochs on {num_train} training images, "
              f"train.py's own figure {statistics.median(run['images_per_second']):.0f} images/s")


if __name__ == "__main__":
    main()
