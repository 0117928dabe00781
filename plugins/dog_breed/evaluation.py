"""Judging a trained model: its metrics from the training job's output, the serving model's metrics, and
the deployment decision.

`train.py` writes `metrics.json` to its output data dir; SageMaker uploads that dir as `output.tar.gz`
next to `model.tar.gz` (`<S3OutputPath>/<job>/output/`). The serving model's metrics are found the same
way from its `ModelDataUrl`, so no extra store has to be kept in step with the endpoint.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from dog_breed.aws_errors import is_missing

METRICS_FILE = "metrics.json"
REQUIRED_METRICS = ("test_accuracy", "test_loss", "valid_accuracy", "valid_loss")


class EvaluationError(ValueError):
    """The training output cannot be judged; the message says why."""


def output_tar_url(model_data_url: str) -> str:
    """`.../<job>/output/model.tar.gz` -> `.../<job>/output/output.tar.gz`."""
    head, _, name = model_data_url.rpartition("/")
    if name != "model.tar.gz":
        raise EvaluationError(f"model artifact {model_data_url} is not a SageMaker model.tar.gz")
    return f"{head}/output.tar.gz"


def split_s3_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise EvaluationError(f"{url} is not an s3:// URL")
    bucket, _, key = url[len("s3://"):].partition("/")
    return bucket, key


def metrics_from_output_tar(data: bytes, source: str) -> dict[str, Any]:
    """The `metrics.json` inside a training job's `output.tar.gz`."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            member = next((m for m in tar.getmembers()
                           if m.isfile() and m.name.rsplit("/", 1)[-1] == METRICS_FILE), None)
            if member is None:
                raise EvaluationError(f"{source} has no {METRICS_FILE}")
            metrics = json.loads(tar.extractfile(member).read())
    except (tarfile.TarError, json.JSONDecodeError) as error:
        raise EvaluationError(f"{source}: cannot read {METRICS_FILE} ({error})") from error
    missing = [key for key in REQUIRED_METRICS if not isinstance(metrics.get(key), (int, float))]
    if missing:
        raise EvaluationError(f"{source}: {METRICS_FILE} lacks numeric {missing}")
    return metrics


def read_metrics(s3: Any, model_data_url: str) -> dict[str, Any]:
    url = output_tar_url(model_data_url)
    bucket, key = split_s3_url(url)
    return metrics_from_output_tar(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), url)


def serving_model(sagemaker: Any, endpoint_name: str) -> dict[str, Any] | None:
    """The model behind the endpoint (name and artifact), or None when there is no endpoint yet."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if is_missing(error):
            return None
        raise
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model_name = config["ProductionVariants"][0]["ModelName"]
    model = sagemaker.describe_model(ModelName=model_name)
    return {
        "endpoint_status": endpoint["EndpointStatus"],
        "model_name": model_name,
        "model_data_url": model["PrimaryContainer"]["ModelDataUrl"],
    }


@dataclass(frozen=True)
class Decision:
    deploy: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(candidate_accuracy: float, serving_accuracy: float | None, *, threshold: float,
           max_drop: float) -> Decision:
    """Deploy when the candidate clears the threshold and is not worse than the serving model by more
    than `max_drop`."""
    if candidate_accuracy < threshold:
        return Decision(False, f"test accuracy {candidate_accuracy:.4f} is below the threshold {threshold:.4f}")
    if serving_accuracy is not None and candidate_accuracy < serving_accuracy - max_drop:
        return Decision(False, f"test accuracy {candidate_accuracy:.4f} is worse than the serving model's "
                               f"{serving_accuracy:.4f} by more than {max_drop:.4f}")
    against = "no model is serving yet" if serving_accuracy is None else \
        f"the serving model has {serving_accuracy:.4f}"
    return Decision(True, f"test accuracy {candidate_accuracy:.4f} clears the threshold {threshold:.4f}; {against}")
