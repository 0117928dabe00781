"""A replica's intra-op threads: one per core by default (``ReplicaSpec.threads``), or what the
model's container Environment asks for with OMP_NUM_THREADS, as a SageMaker user sizes them."""

import json
import os
import shutil

import pytest

from local_aws.hosting.deployment import Deployment, VariantPlan
from local_aws.hosting.fleet import ReplicaSpec
from local_aws.hosting.router import Invocation, forward
from local_aws.supervisor import Supervisor

from hosting_helpers import VARIANT, write_model_dir

THREADS_MODEL = """
    import json
    import os

    def model_fn(model_dir):
        import torch
        return torch

    def transform_fn(torch, body, content_type, accept):
        return json.dumps({"torch": torch.get_num_threads(), "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS")}), accept
"""


def served_threads(model_dir, work_dir, threads: int, environment: dict[str, str]) -> dict:
    spec = ReplicaSpec(model_dir=model_dir, work_dir=work_dir, environment=environment, threads=threads)
    supervisor = Supervisor()
    deployment = Deployment(supervisor, [VariantPlan(VARIANT, 1.0, 1, spec)])
    deployment.start()
    try:
        answer = forward(lambda: deployment, Invocation(b"", "text/plain", "application/json"))
        assert answer.status == 200, answer.body
        return json.loads(answer.body)
    finally:
        deployment.close()
        supervisor.shutdown()


@pytest.fixture(scope="module")
def threads_model_dir(tmp_path_factory):
    return write_model_dir(tmp_path_factory.mktemp("threads") / "model", THREADS_MODEL)


CORES_TORCH_USES = min(2, os.cpu_count() or 1)  # torch uses no more threads than cores


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spec_threads", "environment", "expected"),
    [
        (1, {}, {"torch": 1, "MKL_NUM_THREADS": "1"}),
        (2, {"OMP_NUM_THREADS": "1"}, {"torch": 1, "MKL_NUM_THREADS": "1"}),
        (1, {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "2"}, {"torch": CORES_TORCH_USES, "MKL_NUM_THREADS": "2"}),
    ],
    ids=["default", "model-omp", "model-omp-and-mkl"],
)
def test_the_models_environment_sets_the_replicas_intra_op_threads(
    threads_model_dir, tmp_path, spec_threads, environment, expected
):
    model_dir = shutil.copytree(threads_model_dir, tmp_path / "model")
    assert served_threads(model_dir, tmp_path / "instances", spec_threads, environment) == expected
