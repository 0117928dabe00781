"""Train a dog-breed (or any ``NNN.Name``-folder) image classifier: SageMaker script mode, EC2 or a laptop.

One entry point for tuning jobs, training jobs and plain runs. Hyperparameters arrive as
``--name value``; paths default to SageMaker's environment and can all be overridden::

    python train.py --arch resnet18 --epochs 5 --data_dir dogImages --model_dir model \
        --output_data_dir output --checkpoint_dir checkpoints

It learns on ``train/``, keeps the epoch with the best ``valid/`` accuracy, and evaluates that model
once on ``test/``. Several hosts (``SM_HOSTS``) or torchrun workers train one model together with
DistributedDataParallel; only rank 0 writes checkpoints and artifacts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from torchvision.transforms import v2

import checkpoints
import distributed
from image_folders import CachedImages, ImageSplit, load_dataset
from metric_definitions import format_metric_line
from model_artifacts import write_metrics, write_model_dir
from networks import ARCHITECTURES, build_model, freeze_batchnorm_statistics, trainable_parameters
from preprocessing import IMAGENET_MEAN, IMAGENET_STD, normalize

OPTIMIZERS = ("adamw", "adam", "sgd")
LR_SCHEDULERS = ("cosine", "constant")
MIN_IMAGE_SIZE = 16
# Hyperparameters SageMaker adds on its own and its training toolkit passes on as arguments: the
# `sagemaker_*` framework parameters, and `_tuning_objective_metric` in every tuning trial.
SAGEMAKER_ARGUMENT_PREFIXES = ("--sagemaker_", "--_tuning_objective_metric")
# Arguments that locate things rather than shape the model: a resumed run may change them.
PATH_AND_RESOURCE_ARGS = ("data_dir", "model_dir", "output_data_dir", "checkpoint_dir", "workers")


def str2bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return lowered == "true"


def _bounded(kind, minimum, inclusive=True):
    def parse(value: str):
        number = kind(value)
        if number < minimum or (not inclusive and number == minimum):
            raise argparse.ArgumentTypeError(f"must be {'>=' if inclusive else '>'} {minimum}, got {value}")
        return number

    parse.__name__ = kind.__name__
    return parse


def get_args_parser() -> argparse.ArgumentParser:
    env = os.environ
    # No abbreviations: a misspelt hyperparameter must fail, not silently match a longer name.
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--arch", default="resnet50", choices=ARCHITECTURES, help="torchvision backbone")
    parser.add_argument("--pretrained", type=str2bool, default=False, help="start from ImageNet weights (true/false)")
    parser.add_argument("--freeze_backbone", type=str2bool, default=False, help="train only the new head (true/false)")
    parser.add_argument("--epochs", type=_bounded(int, 1), default=10)
    parser.add_argument("--batch_size", type=_bounded(int, 1), default=64, help="per process")
    parser.add_argument("--learning_rate", type=_bounded(float, 0.0, inclusive=False), default=1e-3)
    parser.add_argument("--optimizer", default="adamw", choices=OPTIMIZERS)
    parser.add_argument("--momentum", type=_bounded(float, 0.0), default=0.9, help="sgd only")
    parser.add_argument("--weight_decay", type=_bounded(float, 0.0), default=1e-4)
    parser.add_argument("--lr_scheduler", default="cosine", choices=LR_SCHEDULERS)
    parser.add_argument("--image_size", type=_bounded(int, MIN_IMAGE_SIZE), default=224, help="square side in pixels")
    parser.add_argument("--augment", type=str2bool, default=True, help="random resized crops and flips (true/false)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=_bounded(int, 0), default=min(4, os.cpu_count() or 1),
                        help="processes that decode the images once at start-up")
    parser.add_argument("--data_dir", default=env.get("SM_CHANNEL_TRAINING"), help="default: $SM_CHANNEL_TRAINING")
    parser.add_argument("--model_dir", default=env.get("SM_MODEL_DIR"), help="default: $SM_MODEL_DIR")
    parser.add_argument("--output_data_dir", default=env.get("SM_OUTPUT_DATA_DIR"), help="default: $SM_OUTPUT_DATA_DIR")
    parser.add_argument("--checkpoint_dir", default="/opt/ml/checkpoints")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse hyperparameters; the ones SageMaker adds itself (``--sagemaker_*``,
    ``--_tuning_objective_metric``) are accepted and ignored."""
    parser = get_args_parser()
    args, unknown = parser.parse_known_args(argv)
    rejected = _without_sagemaker_arguments(unknown)
    if rejected:
        parser.error(f"unrecognized arguments: {' '.join(rejected)}")
    for name, variable in (("data_dir", "SM_CHANNEL_TRAINING"), ("model_dir", "SM_MODEL_DIR"),
                           ("output_data_dir", "SM_OUTPUT_DATA_DIR")):
        if getattr(args, name) is None:
            parser.error(f"--{name} is required when {variable} is not set")
    return args


def _without_sagemaker_arguments(tokens: list[str]) -> list[str]:
    rejected, skip_value = [], False
    for token in tokens:
        if skip_value and not token.startswith("--"):
            skip_value = False
            continue
        ours = token.startswith(SAGEMAKER_ARGUMENT_PREFIXES)
        skip_value = ours and "=" not in token
        if not ours:
            rejected.append(token)
    return rejected


def check_writable(args: argparse.Namespace) -> None:
    """Fail before training, not after it, when a folder train.py writes to cannot be made (on a laptop
    the default /opt/ml/checkpoints usually cannot)."""
    for name in ("model_dir", "output_data_dir", "checkpoint_dir"):
        path = Path(getattr(args, name)).absolute()
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"--{name} {path} cannot be created: {existing} is not a writable folder; "
                                  f"pass --{name} with a folder this process may write to")


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    train_accuracy: float
    valid_loss: float
    valid_accuracy: float
    train_seconds: float
    train_images_per_second: float


@dataclass
class Progress:
    """Where training stands; saved in every checkpoint so that a restarted job resumes it."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_state: dict | None = None

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def best(self) -> dict:
        return self.history[self.best_epoch - 1]

    def record(self, result: EpochResult, model: torch.nn.Module) -> None:
        self.history.append(asdict(result))
        if self.best_state is None or (result.valid_accuracy, -result.valid_loss) > (
            self.best["valid_accuracy"], -self.best["valid_loss"]
        ):
            self.best_epoch = result.epoch
            self.best_state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def log(message: str) -> None:
    if distributed.is_main_process():
        print(message, flush=True)


def main(args: argparse.Namespace) -> dict:
    check_writable(args)
    spec = distributed.process_group_spec(os.environ)
    device = distributed.choose_device(spec)
    distributed.init_process_group(spec, device)
    try:
        torch.manual_seed(args.seed)
        data = load_dataset(args.data_dir, args.image_size, args.workers)
        log(f"classes={len(data.classes)} " + " ".join(f"{s}_images={len(split)}" for s, split in data.splits.items()))
        model = build_model(args.arch, len(data.classes), args.pretrained, args.freeze_backbone).to(device)
        optimizer = build_optimizer(args, trainable_parameters(model))
        scheduler = build_scheduler(args, optimizer)
        progress = resume(Path(args.checkpoint_dir), run_identity(args, data.classes), model, optimizer, scheduler)
        trained = DistributedDataParallel(model) if spec.is_distributed else model
        train_loader = build_train_loader(args, data.splits["train"], spec)
        for epoch in range(progress.epochs_done + 1, args.epochs + 1):
            train_loader.sampler.set_epoch(epoch)
            result = run_epoch(epoch, trained, model, train_loader, data.splits["valid"], optimizer, args, device, spec)
            progress.record(result, model)
            scheduler.step()
            if distributed.is_main_process():
                checkpoints.save_checkpoint(Path(args.checkpoint_dir), epoch, checkpoint_state(
                    model, optimizer, scheduler, progress, run_identity(args, data.classes)))
        model.load_state_dict(progress.best_state)
        test_loss, test_accuracy = evaluate(model, data.splits["test"], args.batch_size, device, spec)
        log(format_metric_line("test", test_loss, test_accuracy))
        metrics = final_metrics(progress, test_loss, test_accuracy, args.epochs, len(data.classes))
        if distributed.is_main_process():
            write_outputs(args, model, data.classes, metrics)
        return metrics
    finally:
        distributed.destroy_process_group()


def run_epoch(epoch, trained, model, train_loader, valid, optimizer, args, device, spec) -> EpochResult:
    train_loss, train_accuracy, images, seconds = train_one_epoch(trained, train_loader, optimizer, device, args.freeze_backbone)
    distributed.broadcast_buffers(model)
    valid_loss, valid_accuracy = evaluate(model, valid, args.batch_size, device, spec)
    log(format_metric_line("train", train_loss, train_accuracy, epoch))
    log(format_metric_line("valid", valid_loss, valid_accuracy, epoch))
    log(f"epoch={epoch} train_seconds={seconds:.3f} train_images_per_second={images / seconds:.1f}")
    return EpochResult(epoch, train_loss, train_accuracy, valid_loss, valid_accuracy, seconds, images / seconds)


def train_one_epoch(model, loader, optimizer, device, freeze_backbone) -> tuple[float, float, int, float]:
    """One pass over this process's shard; loss and accuracy are per-sample means over all processes."""
    model.train()
    if freeze_backbone:
        freeze_batchnorm_statistics(model)
    totals = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, correct, samples
    started = time.perf_counter()
    for images, labels in loader:
        images, labels = normalize(images.to(device, non_blocking=True)), labels.to(device, non_blocking=True)
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        totals[0] += loss.detach() * len(labels)
        totals[1] += (logits.argmax(1) == labels).sum()
        totals[2] += len(labels)
    seconds = time.perf_counter() - started
    loss_sum, correct, samples = distributed.all_reduce_sum(totals).tolist()
    return loss_sum / samples, correct / samples, int(samples), seconds


@torch.inference_mode()
def evaluate(model, split: ImageSplit, batch_size: int, device, spec) -> tuple[float, float]:
    """Per-sample mean loss and accuracy; each process scores every world_size-th image, none twice."""
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64, device=device)
    shard = torch.arange(spec.rank, len(split), spec.world_size)
    for batch in shard.split(batch_size):
        images, labels = normalize(split.images[batch].to(device)), split.labels[batch].to(device)
        logits = model(images)
        totals[0] += F.cross_entropy(logits, labels, reduction="sum")
        totals[1] += (logits.argmax(1) == labels).sum()
        totals[2] += len(labels)
    loss_sum, correct, samples = distributed.all_reduce_sum(totals).tolist()
    return loss_sum / samples, correct / samples


def build_train_loader(args, split: ImageSplit, spec) -> DataLoader:
    augmentation = v2.Compose([
        v2.RandomResizedCrop(args.image_size, scale=(0.5, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
    ]) if args.augment else None
    dataset = CachedImages(split, augmentation)
    # Also with one process: its per-epoch shuffle depends only on (seed, epoch), so a resumed run
    # sees the same order the interrupted one would have.
    sampler = DistributedSampler(dataset, num_replicas=spec.world_size, rank=spec.rank, shuffle=True, seed=args.seed)
    # A last batch of one sample would break BatchNorm's training statistics.
    drop_last = len(sampler) % args.batch_size == 1
    return DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, drop_last=drop_last)


def build_optimizer(args, parameters) -> torch.optim.Optimizer:
    if args.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=args.learning_rate, momentum=args.momentum, weight_decay=args.weight_decay)
    optimizer_class = torch.optim.AdamW if args.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(parameters, lr=args.learning_rate, weight_decay=args.weight_decay)


def build_scheduler(args, optimizer) -> torch.optim.lr_scheduler.LRScheduler:
    if args.lr_scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)


def run_identity(args, classes: list[str]) -> dict:
    """The hyperparameters and classes a checkpoint must share with the run that resumes it."""
    hyperparameters = {k: v for k, v in vars(args).items() if k not in PATH_AND_RESOURCE_ARGS}
    return {**hyperparameters, "classes": list(classes)}


def checkpoint_state(model, optimizer, scheduler, progress: Progress, identity: dict) -> dict:
    return {
        "identity": identity,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "history": progress.history,
        "best_epoch": progress.best_epoch,
        "best_state": progress.best_state,
        "rng_state": torch.get_rng_state(),
    }


def resume(checkpoint_dir: Path, identity: dict, model, optimizer, scheduler) -> Progress:
    """Continue from the newest checkpoint of this run if there is one (a restarted spot job), else start afresh.

    Rank 0's checkpoint dir decides, and every process gets its checkpoint: the other hosts' copies may
    be missing or older, and processes that disagree on the epoch to start from would deadlock.
    """
    found = None
    if distributed.is_main_process():
        path = checkpoints.latest_checkpoint(checkpoint_dir)
        found = (path, checkpoints.load_checkpoint(path)) if path else None
    found = distributed.broadcast_object(found)
    if found is None:
        return Progress()
    path, state = found
    differences = sorted(k for k in identity.keys() | state["identity"].keys()
                         if identity.get(k) != state["identity"].get(k))
    if differences:
        raise ValueError(f"{path} belongs to a run with other {', '.join(differences)}; "
                         "use an empty --checkpoint_dir for a new run")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng_state"])
    progress = Progress(state["history"], state["best_epoch"], state["best_state"])
    log(f"resuming from {path} after epoch {progress.epochs_done}")
    return progress


def final_metrics(progress: Progress, test_loss, test_accuracy, epochs, num_classes) -> dict:
    best = progress.best
    return {
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "valid_loss": best["valid_loss"],
        "valid_accuracy": best["valid_accuracy"],
        "train_loss": best["train_loss"],
        "train_accuracy": best["train_accuracy"],
        "best_epoch": progress.best_epoch,
        "epochs": epochs,
        "num_classes": num_classes,
        "history": progress.history,
    }


def write_outputs(args, model, classes: list[str], metrics: dict) -> None:
    summary = {k: v for k, v in metrics.items() if k != "history"}
    metadata = {
        "arch": args.arch,
        "image_size": args.image_size,
        "num_classes": len(classes),
        "normalization": {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        "metrics": summary,
        "hyperparameters": {k: v for k, v in vars(args).items() if k not in PATH_AND_RESOURCE_ARGS},
    }
    write_model_dir(Path(args.model_dir), model.state_dict(), classes, metadata)
    path = write_metrics(Path(args.output_data_dir), metrics)
    log(f"wrote {args.model_dir} and {path}")


if __name__ == "__main__":
    main(parse_args(sys.argv[1:]))
