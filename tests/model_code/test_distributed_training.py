import json
import socket
import subprocess
import time

import pytest
import torch

from checkpoints import latest_checkpoint
from model_code_testing import train_command, training_env
from distributed import DEFAULT_MASTER_PORT, SINGLE_PROCESS, process_group_spec
from image_folders import load_dataset
from networks import build_model
from train import evaluate

HOSTS = '["algo-1", "algo-2"]'
EPOCHS = "3"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sagemaker_hosts_give_rank_world_size_and_first_host_as_master():
    spec = process_group_spec({"SM_HOSTS": HOSTS, "SM_CURRENT_HOST": "algo-2"})

    assert (spec.rank, spec.world_size, spec.master_addr, spec.master_port) == (1, 2, "algo-1", DEFAULT_MASTER_PORT)
    assert spec.is_distributed


def test_master_address_and_port_can_be_overridden():
    spec = process_group_spec({"SM_HOSTS": HOSTS, "SM_CURRENT_HOST": "algo-1", "MASTER_ADDR": "127.0.0.1",
                               "MASTER_PORT": "29500"})
    assert (spec.rank, spec.master_addr, spec.master_port) == (0, "127.0.0.1", 29500)


def test_torchrun_variables_win_over_sagemaker_hosts():
    spec = process_group_spec({"SM_HOSTS": '["algo-1"]', "SM_CURRENT_HOST": "algo-1", "RANK": "3", "WORLD_SIZE": "4",
                               "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.5", "MASTER_PORT": "29400"})
    assert (spec.rank, spec.world_size, spec.local_rank, spec.master_addr, spec.master_port) == (3, 4, 1, "10.0.0.5", 29400)


def test_one_host_or_no_environment_is_a_single_process():
    assert not process_group_spec({"SM_HOSTS": '["algo-1"]', "SM_CURRENT_HOST": "algo-1"}).is_distributed
    assert process_group_spec({}) == SINGLE_PROCESS


def test_current_host_missing_from_hosts_is_refused():
    with pytest.raises(ValueError, match="SM_CURRENT_HOST 'algo-3' is not one of SM_HOSTS"):
        process_group_spec({"SM_HOSTS": HOSTS, "SM_CURRENT_HOST": "algo-3"})


def start_hosts(tiny_dataset, tmp_path, port: str) -> dict[str, subprocess.Popen]:
    hosts = {}
    for host in ("algo-1", "algo-2"):
        env = training_env(SM_HOSTS=HOSTS, SM_CURRENT_HOST=host, MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                           GLOO_SOCKET_IFNAME="lo")
        # Each host has its own disks, as on SageMaker.
        hosts[host] = subprocess.Popen(train_command(tiny_dataset, tmp_path / host, "--epochs", EPOCHS), env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return hosts


def kill_after_first_checkpoint(hosts: dict[str, subprocess.Popen], checkpoint_dir, timeout=120.0) -> None:
    deadline = time.monotonic() + timeout
    while latest_checkpoint(checkpoint_dir) is None:
        assert all(process.poll() is None for process in hosts.values()), "a host ended early"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    for process in hosts.values():
        process.kill()
        process.communicate()


@pytest.mark.slow
def test_two_hosts_train_one_model_together_and_resume_from_the_leaders_checkpoint(tiny_dataset, tmp_path):
    leader, follower = tmp_path / "algo-1", tmp_path / "algo-2"
    # Interrupted after epoch 1: only the leader holds a checkpoint, so the follower must be given it.
    kill_after_first_checkpoint(start_hosts(tiny_dataset, tmp_path, str(free_port())), leader / "checkpoints")
    assert latest_checkpoint(leader / "checkpoints").name < f"checkpoint-{int(EPOCHS):04d}.pth"

    hosts = start_hosts(tiny_dataset, tmp_path, str(free_port()))
    try:
        # Hosts that disagree on where to resume would wait for each other until this timeout.
        logs = {host: process.communicate(timeout=300) for host, process in hosts.items()}
    finally:
        for process in hosts.values():
            process.kill()
    assert all(process.returncode == 0 for process in hosts.values()), logs

    assert not follower.exists() or not any(follower.rglob("*")), "only rank 0 writes"
    assert "resuming from" in logs["algo-1"][0]
    assert "test:accuracy=" in logs["algo-1"][0] and "test:accuracy=" not in logs["algo-2"][0]
    metrics = json.loads((leader / "output" / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == list(range(1, int(EPOCHS) + 1))
    # Each host scored half the test images; the reduced figures must equal one process scoring them all.
    model = build_model("resnet18", 10)
    model.load_state_dict(torch.load(leader / "model" / "model.pth", weights_only=True))
    test_split = load_dataset(tiny_dataset, image_size=16).splits["test"]
    loss, accuracy = evaluate(model, test_split, 16, torch.device("cpu"), SINGLE_PROCESS)
    assert (metrics["test_loss"], metrics["test_accuracy"]) == pytest.approx((loss, accuracy), rel=1e-4)
    assert [p.name for p in (leader / "checkpoints").iterdir()] == [f"checkpoint-{int(EPOCHS):04d}.pth"]
