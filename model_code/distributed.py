"""Who this process is in a training job: from SageMaker's host list or from torchrun's variables.

SageMaker starts train.py once on every instance and tells it ``SM_HOSTS`` (JSON list, same order on
every host) and ``SM_CURRENT_HOST``; torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``. Either way we run one process per host (or per torchrun worker)
in one DistributedDataParallel group.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping

import torch
import torch.distributed as dist

DEFAULT_MASTER_PORT = 7777


@dataclass(frozen=True)
class ProcessGroupSpec:
    rank: int
    world_size: int
    local_rank: int
    master_addr: str
    master_port: int

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


SINGLE_PROCESS = ProcessGroupSpec(rank=0, world_size=1, local_rank=0, master_addr="127.0.0.1", master_port=DEFAULT_MASTER_PORT)


def process_group_spec(environ: Mapping[str, str]) -> ProcessGroupSpec:
    """torchrun's variables if present, else SageMaker's hosts, else a single process."""
    if "RANK" in environ and "WORLD_SIZE" in environ:
        return ProcessGroupSpec(
            rank=int(environ["RANK"]),
            world_size=int(environ["WORLD_SIZE"]),
            local_rank=int(environ.get("LOCAL_RANK", 0)),
            master_addr=environ.get("MASTER_ADDR", "127.0.0.1"),
            master_port=int(environ.get("MASTER_PORT", DEFAULT_MASTER_PORT)),
        )
    if "SM_HOSTS" in environ:
        hosts = json.loads(environ["SM_HOSTS"])
        current = environ.get("SM_CURRENT_HOST")
        if not isinstance(hosts, list) or not hosts:
            raise ValueError(f"SM_HOSTS must be a non-empty JSON list of host names, got {environ['SM_HOSTS']!r}")
        if current not in hosts:
            raise ValueError(f"SM_CURRENT_HOST {current!r} is not one of SM_HOSTS {hosts}")
        return ProcessGroupSpec(
            rank=hosts.index(current),
            world_size=len(hosts),
            local_rank=0,
            # MASTER_ADDR may name the first host by an address when host names do not resolve.
            master_addr=environ.get("MASTER_ADDR", hosts[0]),
            master_port=int(environ.get("MASTER_PORT", DEFAULT_MASTER_PORT)),
        )
    return SINGLE_PROCESS


def choose_device(spec: ProcessGroupSpec) -> torch.device:
    if torch.cuda.is_available():
        device = torch.device("cuda", spec.local_rank % torch.cuda.device_count())
        # nccl's collectives run on the current device: without this every process would use GPU 0.
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def init_process_group(spec: ProcessGroupSpec, device: torch.device, timeout_seconds: int = 600) -> None:
    """Join the group: nccl between GPUs, gloo between CPUs. A single process joins nothing."""
    if not spec.is_distributed:
        return
    dist.init_process_group(
        backend="nccl" if device.type == "cuda" else "gloo",
        init_method=f"tcp://{spec.master_addr}:{spec.master_port}",
        rank=spec.rank,
        world_size=spec.world_size,
        timeout=timedelta(seconds=timeout_seconds),
    )


def destroy_process_group() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main_process() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum over all processes (the input unchanged when there is one)."""
    if dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_buffers(model: torch.nn.Module) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics).

    DistributedDataParallel syncs them at the start of each training forward, so after the last step
    of an epoch each process holds the statistics of its own last batch; evaluation and the saved model
    must all use the same ones.
    """
    if dist.is_initialized():
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def broadcast_object(value):
    """Rank 0's ``value`` (any picklable object) on every process."""
    if not dist.is_initialized():
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]
