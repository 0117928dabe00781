"""The pipeline's own steps, as plain functions the DAG wraps with `@task`.

Each step builds its AWS clients from the provider's hooks (connection `aws_default`, so the same code
talks to AWS or to the local endpoint named by AWS_ENDPOINT_URL), calls the pure modules of this
package, and returns JSON-safe data for XCom. Arguments named `params`, `run_id` and `ti` are filled in
by Airflow from the task context.

A step takes as arguments the results of the tasks just before it; what earlier tasks returned (the
validated plan above all) it reads from XCom by task id when it runs (`_pulled`). The chain runs those
tasks first anyway, and an argument would draw one more edge in the graph for each.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.providers.common.compat.sdk import AirflowException

from botocore.config import Config

from dog_breed import (dataset, evaluation, front_door_check, model_packages, operator_plans, report, run_notes,
                       smoke, staging)
from dog_breed.config import PipelineConfig
from dog_breed.layout import DataLayout
from dog_breed.naming import ResourceNames, resource_names
from dog_breed.sagemaker_requests import deployment_requests, training_request, tuning_request
from model_code import metric_definitions

AWS_CONN_ID = "aws_default"
FRONT_DOOR_IMAGES = 3  # images sent through the front door, each checked against the endpoint's own answer
MODEL_CODE_DIR = Path(metric_definitions.__file__).resolve().parent

# The DAG's task ids whose results steps further down the chain read.
VALIDATE_CONFIG, STAGE_DATASET, TUNE, TRAIN, TRAIN_ON_EC2, EVALUATE = (
    "validate_config", "stage_dataset", "tune", "train", "train_on_ec2", "evaluate")
DEPLOY_ENDPOINT, AUTOSCALE_ENDPOINT, SMOKE_TEST, DEPLOY_FRONT_DOOR = (
    "deploy_endpoint", "autoscale_endpoint", "smoke_test", "deploy_front_door")

log = logging.getLogger(__name__)


def _pulled(ti: Any, task_id: str) -> Any:
    """What the task `task_id` of this run returned; None when it was skipped (the other backend, a closed gate)."""
    return ti.xcom_pull(task_ids=task_id)


def _config(plan: dict[str, Any]) -> PipelineConfig:
    return PipelineConfig(**plan["config"])


def _names(plan: dict[str, Any]) -> ResourceNames:
    return ResourceNames(**plan["names"])


def _layout(plan: dict[str, Any]) -> DataLayout:
    return DataLayout.for_run(_config(plan), _names(plan).run_tag)


def _client(config: PipelineConfig, service: str) -> Any:
    if service == "s3":
        return S3Hook(aws_conn_id=AWS_CONN_ID, region_name=config.region).get_conn()
    if service == "sagemaker":
        return SageMakerHook(aws_conn_id=AWS_CONN_ID, region_name=config.region).get_conn()
    return AwsBaseHook(aws_conn_id=AWS_CONN_ID, region_name=config.region, client_type=service).get_conn()


def validate_config(params: dict[str, Any] | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Check every parameter, then fix the run's resource names and its tuning and training requests."""
    config = PipelineConfig.from_mapping(dict(params))
    names = resource_names(config.project, run_id)
    layout = DataLayout.for_run(config, names.run_tag)
    log.info("Run %s: tuning job %s, training job %s", run_id, names.tuning_job, names.training_job)
    return {
        "config": config.to_dict(),
        "names": names.to_dict(),
        "tuning": tuning_request(config, names, layout),
        "training": training_request(config, names, layout),
        "ec2_training": operator_plans.ec2_training_config(
            operator_plans.ec2_training(config, names.ec2_training_job, layout)),
    }


def choose_training_backend(sagemaker: str, ec2: str, ti: Any = None) -> str:
    """Branch: the task that starts training on the backend the run names (`sagemaker` or `ec2`)."""
    backend = _config(_pulled(ti, VALIDATE_CONFIG)).training_backend
    log.info("Training on %s", backend)
    return ec2 if backend == "ec2" else sagemaker


def stage_dataset(ti: Any = None) -> dict[str, Any]:
    """Fetch, check and upload the dataset version once; return its manifest summary and S3 location."""
    plan = _pulled(ti, VALIDATE_CONFIG)
    config, layout = _config(plan), _layout(plan)
    s3 = _client(config, "s3")
    staging.ensure_bucket(s3, config.bucket, config.region, log.info)
    with tempfile.TemporaryDirectory(prefix="dog-breed-dataset-") as work:
        work_dir = Path(work)
        zip_path = dataset.fetch(config.dataset_url, work_dir / "dataset.zip", log=log.info,
                                 download_s3=lambda bucket, key, dest: s3.download_file(bucket, key, str(dest)))
        root = dataset.extract(zip_path, work_dir / "unpacked")
        classes = dataset.check_layout(root)
        full = dataset.manifest(root, classes)
        log.info("dataset: %d files, %d bytes, %d classes, sha256 %s", full["file_count"], full["bytes"],
                 len(classes), full["sha256"])
        staged = staging.stage_dataset(s3, root, full, bucket=config.bucket, data_prefix=layout.data_prefix,
                                       manifest_key=layout.manifest_key, log=log.info)
    return staged | {"s3_uri": layout.data_uri, "dataset_version": config.dataset_version}


def package_model_code(ti: Any = None) -> str:
    """Upload `model_code/` as the script-mode source the tuning and training jobs run."""
    plan = _pulled(ti, VALIDATE_CONFIG)
    config, layout = _config(plan), _layout(plan)
    body = staging.source_tarball(MODEL_CODE_DIR)
    s3 = _client(config, "s3")
    # Runs beside stage_dataset: whichever comes first makes the bucket.
    staging.ensure_bucket(s3, config.bucket, config.region, log.info)
    s3.put_object(Bucket=config.bucket, Key=layout.code_key, Body=body)
    log.info("uploaded %s (%d bytes) to %s", MODEL_CODE_DIR, len(body), layout.code_uri)
    return layout.code_uri


def evaluate(trained_on_sagemaker: dict[str, Any] | None, trained_on_ec2: dict[str, Any] | None,
             ti: Any = None) -> dict[str, Any]:
    """The candidate's test metrics against the threshold and against the model serving now; the candidate is
    what the backend that ran returned (the other one was skipped: None), with the tuning job behind it (None
    on EC2) for its lineage: the tasks after the gate take it from here, as they would be skipped with a
    skipped upstream."""
    config, tuning = _config(_pulled(ti, VALIDATE_CONFIG)), _pulled(ti, TUNE)
    job = (trained_on_sagemaker or trained_on_ec2)["Training"]
    s3, sagemaker = _client(config, "s3"), _client(config, "sagemaker")
    model_data_url = job["ModelArtifacts"]["S3ModelArtifacts"]
    metrics = evaluation.read_metrics(s3, model_data_url)
    serving = evaluation.serving_model(sagemaker, config.endpoint_name)
    serving_metrics = evaluation.read_metrics(s3, serving["model_data_url"]) if serving else None
    decision = evaluation.decide(metrics["test_accuracy"],
                                 serving_metrics["test_accuracy"] if serving_metrics else None,
                                 threshold=config.accuracy_threshold, max_drop=config.max_accuracy_drop)
    log.info("candidate %s: %s", job["TrainingJobName"], decision.reason)
    return {
        "training_job": job["TrainingJobName"],
        "tuning_job": tuning["Tuning"]["HyperParameterTuningJobName"] if tuning else None,
        "model_data_url": model_data_url,
        "metrics": metrics,
        "serving": serving,
        "serving_metrics": serving_metrics,
        "decision": decision.to_dict(),
    }


def gate(evaluation_result: dict[str, Any], deploy: str, skip: str) -> str:
    """Branch: the task `deploy` to deploy the candidate, or `skip` to leave the endpoint as it is."""
    decision = evaluation_result["decision"]
    if decision["deploy"]:
        log.info("Gate passed: %s", decision["reason"])
        return deploy
    log.warning("Gate closed, the endpoint keeps its current model: %s", decision["reason"])
    return skip


def plan_deployment(ti: Any = None) -> dict[str, Any]:
    """The requests that deploy the approved candidate (`deployment_requests`), for the tasks that do."""
    plan, evaluation_result = _pulled(ti, VALIDATE_CONFIG), _pulled(ti, EVALUATE)
    return deployment_requests(_config(plan), _names(plan), evaluation_result["training_job"],
                               evaluation_result["model_data_url"])


def register_model(model: dict[str, Any], ti: Any = None) -> dict[str, Any]:
    """Register the approved candidate, served by `model` (its CreateModel request), in the model registry."""
    plan, evaluation_result, staged = _pulled(ti, VALIDATE_CONFIG), _pulled(ti, EVALUATE), _pulled(ti, STAGE_DATASET)
    config, names = _config(plan), _names(plan)
    model_name = evaluation_result["training_job"]
    metrics = evaluation_result["metrics"]
    metadata = {
        "training_job": model_name,
        "training_backend": config.training_backend,
        "tuning_job": evaluation_result["tuning_job"] or "none (trained on EC2)",
        "test_accuracy": str(metrics["test_accuracy"]),
        "test_loss": str(metrics["test_loss"]),
        "valid_accuracy": str(metrics["valid_accuracy"]),
        "dataset_version": staged["dataset_version"],
        "dataset_sha256": staged["sha256"],
        "pipeline_run": names.run_tag,
    }
    sagemaker = _client(config, "sagemaker")
    model_packages.ensure_group(sagemaker, config.model_package_group, f"Dog-breed classifiers of {config.project}")
    package, created = model_packages.register(sagemaker, model_packages.version_request(
        group=config.model_package_group, container=model["PrimaryContainer"],
        instance_type=config.endpoint_instance_type, metadata=metadata, approved=True))
    log.info("%s model package %s", "registered" if created else "found registered", package["ModelPackageArn"])
    return {"model_package_arn": package["ModelPackageArn"]}


def smoke_test(ti: Any = None) -> dict[str, Any]:
    """Send test images to the endpoint; check each answer's shape and the accuracy over all of them."""
    plan, evaluation_result = _pulled(ti, VALIDATE_CONFIG), _pulled(ti, EVALUATE)
    deployed = _pulled(ti, DEPLOY_ENDPOINT)
    config, layout = _config(plan), _layout(plan)
    s3, runtime = _client(config, "s3"), _client(config, "sagemaker-runtime")
    staged = staging.read_json(s3, config.bucket, layout.manifest_key)
    if staged is None:
        raise AirflowException(f"no manifest at {layout.uri(layout.manifest_key)}")
    endpoint = deployed["Endpoint"]["EndpointName"]
    correct, example = 0, None
    images = smoke.pick_test_images(staged["files"], config.smoke_test_images)
    for path, expected in images:
        body = s3.get_object(Bucket=config.bucket, Key=f"{layout.data_prefix}{path}")["Body"].read()
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType=smoke.content_type(path),
                                           Accept="application/json", Body=body)
        answer = json.loads(response["Body"].read())
        predicted = smoke.check_answer(answer, path)
        correct += predicted == expected
        example = example or {"image": path, "expected": expected, "top3": answer[:3]}
    accuracy = smoke.check_accuracy(correct, len(images), evaluation_result["metrics"]["test_accuracy"])
    log.info("endpoint %s: %d/%d test images right (accuracy %.3f)", endpoint, correct, len(images), accuracy)
    return {"endpoint": endpoint, "images": len(images), "correct": correct, "accuracy": accuracy,
            "example": example}


def check_front_door(front_door: dict[str, Any], ti: Any = None) -> dict[str, Any]:
    """Invoke the front door's alias with the user's event shapes, test images each, and check that its answers
    agree with the endpoint's own for the same images."""
    plan = _pulled(ti, VALIDATE_CONFIG)
    config, layout = _config(plan), _layout(plan)
    s3, runtime = _client(config, "s3"), _client(config, "sagemaker-runtime")
    lambda_hook = LambdaHook(aws_conn_id=AWS_CONN_ID, region_name=config.region)
    staged = staging.read_json(s3, config.bucket, layout.manifest_key)
    if staged is None:
        raise AirflowException(f"no manifest at {layout.uri(layout.manifest_key)}")
    function, alias = front_door["FunctionName"], front_door["Alias"]
    allowed = [h for h in front_door["Configuration"]["Environment"]["Variables"]["ALLOWED_IMAGE_HOSTS"].split(",") if h]
    # Path-style: https://s3.amazonaws.com/<bucket>/<key> is on the host the function's allowlist names.
    presigner = S3Hook(aws_conn_id=AWS_CONN_ID, region_name=config.region,
                       config=Config(s3={"addressing_style": "path"})).get_conn()
    sent: dict[str, int] = {"image": 0, "url": 0}
    url_skipped, example = None, None
    for path, expected in smoke.pick_test_images(staged["files"], min(FRONT_DOOR_IMAGES, config.smoke_test_images)):
        key = f"{layout.data_prefix}{path}"
        image = s3.get_object(Bucket=config.bucket, Key=key)["Body"].read()
        direct = json.loads(runtime.invoke_endpoint(EndpointName=config.endpoint_name, Accept="application/json",
                                                    ContentType=smoke.content_type(path), Body=image)["Body"].read())
        events = {"image": front_door_check.image_event(image)}
        url = presigner.generate_presigned_url("get_object", Params={"Bucket": config.bucket, "Key": key},
                                               ExpiresIn=300)
        events["url"], url_skipped = front_door_check.url_event(url, allowed)
        for shape, event in events.items():
            if event is None:
                continue
            answer = lambda_hook.invoke_lambda(function_name=function, qualifier=alias, payload=json.dumps(event))
            label = front_door_check.check_agrees(
                front_door_check.predictions(answer, f"{function}:{alias} {shape} event of {path}"), direct, path)
            sent[shape] += 1
            example = example or {"image": path, "expected": expected, "shape": shape, "top_label": label}
    if url_skipped:
        log.info("No {\"url\": ...} event sent: %s", url_skipped)
    log.info("%s:%s agreed with the endpoint on %d image events and %d URL events", function, alias, sent["image"],
             sent["url"])
    return {"function": function, "alias": alias, "version": front_door["Version"], "events": sent,
            "url_skipped": url_skipped, "example": example}


def _trials(sagemaker: Any, tuning_job: str) -> list[dict[str, Any]]:
    """The tuning job's trials as rows of the report's table (each trial described for its billing)."""
    paginator = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    return [report.trial(summary, sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"]))
            for page in paginator.paginate(HyperParameterTuningJobName=tuning_job)
            for summary in page["TrainingJobSummaries"]]


def build_report(front_door_result: dict[str, Any] | None, ti: Any = None, run_id: str | None = None) -> dict[str, Any]:
    """Write the run's report to S3 as Markdown, its short form to the log and to the run's note (`run_notes`);
    return the summary for `make run` and the tests.

    It reads what the tasks returned: tune and train (None on the EC2 backend) or train_on_ec2 (None on
    SageMaker's), evaluate, and deploy_endpoint, autoscale_endpoint, smoke_test, deploy_front_door and
    check_front_door (`front_door_result`; all None when the gate kept the candidate out)."""
    plan = _pulled(ti, VALIDATE_CONFIG)
    config, layout = _config(plan), _layout(plan)
    sagemaker, s3 = _client(config, "sagemaker"), _client(config, "s3")
    tuning = _pulled(ti, TUNE)
    tuning_job = tuning["Tuning"] if tuning else None
    trained = _pulled(ti, TRAIN) or _pulled(ti, TRAIN_ON_EC2)
    deployed = _pulled(ti, DEPLOY_ENDPOINT)
    summary = report.summarize(
        run_id=run_id, tuning_job=tuning_job, training_job=trained["Training"],
        trials=_trials(sagemaker, tuning_job["HyperParameterTuningJobName"]) if tuning_job else [],
        evaluation=_pulled(ti, EVALUATE), smoke=_pulled(ti, SMOKE_TEST),
        endpoint=deployed["Endpoint"] if deployed else None,
        endpoint_instance=(config.endpoint_instance_type, config.endpoint_instance_count),
        scaling=_pulled(ti, AUTOSCALE_ENDPOINT), front_door=_pulled(ti, DEPLOY_FRONT_DOOR),
        front_door_check=front_door_result, report_uri=layout.report_uri)
    markdown = report.render(summary)
    s3.put_object(Bucket=config.bucket, Key=layout.report_key, Body=markdown.encode(), ContentType="text/markdown")
    note = report.note(summary)
    log.info("Run summary:\n%s", note)
    if ti is not None:
        run_notes.set_run_note(ti.dag_id, ti.run_id, note)
    return summary
