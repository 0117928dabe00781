"""The whole dog_breed_pipeline DAG against local AWS on a tiny dataset: a first run creates the endpoint,
registers it with Application Auto Scaling and puts the Lambda front door before it; a second (trained on two
hosts, served on a bigger instance type) updates it blue/green with its scaling registered; re-running every
task of that second run adopts what it made instead of duplicating it; a third run whose model fails the
gate leaves the endpoint untouched (that run also trains as managed spot training with S3 checkpoints); a
fourth trains on EC2 through SSM and deploys that model. A bad parameter fails validate_config before
anything exists, and the teardown DAG removes what costs money or grants access but keeps the registry."""

import pytest

import sample_dataset

pytestmark = pytest.mark.slow

BUCKET = "e2e-dog-breed"
GROUP = "e2e-dog-breed-classifier"
ENDPOINT = "e2e-dog-breed"


@pytest.fixture(scope="module")
def airflow_db():
    from airflow.utils.db import resetdb

    resetdb(skip_init=False)


@pytest.fixture(scope="module")
def tiny_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-dataset")
    root = sample_dataset.build(out, sample_dataset.DatasetSpec(image_size=16, per_class_limit=8))
    return sample_dataset.pack_zip(root, out / "dogImages.zip")


def conf(tiny_zip, **changes):
    # Every parameter, not only the changed ones: in-process test runs of one DAG object carry an earlier
    # run's conf over into the params of the next.
    from dog_breed.environment import profile_defaults

    return {**profile_defaults("local"), "bucket": BUCKET, "model_package_group": GROUP, "endpoint_name": ENDPOINT,
            "dataset_url": tiny_zip.as_uri(), "dataset_version": "tiny-v1", "tuning_max_jobs": 1,
            "epochs_min": 1, "epochs_max": 2, "smoke_test_images": 5, "accuracy_threshold": 0.0, "max_accuracy_drop": 1.0, **changes}


def run(dag, run_conf, again=None):
    """One DAG run in-process; `again` (the dates an earlier call returned) clears that run and runs every
    task of it again under the same run id."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    dates = {"logical_date": again[0], "run_after": again[1]} if again else {}
    dag_run = dag.test(run_conf=run_conf, **dates)
    with create_session() as session:
        tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag.dag_id,
                                                         TaskInstance.run_id == dag_run.run_id)).all()
        xcoms = session.scalars(select(XComModel).where(XComModel.dag_id == dag.dag_id,
                                                        XComModel.run_id == dag_run.run_id,
                                                        XComModel.key == "return_value")).all()
        return (str(dag_run.state), {ti.task_id: str(ti.state) for ti in tis},
                {x.task_id: XComModel.deserialize_value(x) for x in xcoms}, (dag_run.logical_date, dag_run.run_after))


def counts(sagemaker):
    """How many of each resource a run makes exist now."""
    return {
        "tuning jobs": len(sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=100)["HyperParameterTuningJobSummaries"]),
        "training jobs": len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]),
        "models": len(sagemaker.list_models(MaxResults=100)["Models"]),
        "endpoint configs": len(sagemaker.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]),
        "model packages": len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]),
    }


def scaling_of(autoscaling):
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker",
                                                    ResourceIds=[f"endpoint/{ENDPOINT}/variant/AllTraffic"])
    return [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]]


def serving_config(sagemaker):
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService"
    return endpoint["EndpointConfigName"]


def test_pipeline_deploys_updates_and_gates(airflow_db, tiny_zip, aws_env, aws_client, dagbag):
    pipeline, teardown = dagbag.dags["dog_breed_pipeline"], dagbag.dags["dog_breed_teardown"]
    sagemaker, s3 = aws_client("sagemaker"), aws_client("s3")
    autoscaling, lam, ec2 = aws_client("application-autoscaling"), aws_client("lambda"), aws_client("ec2")
    function = conf(tiny_zip)["lambda_function_name"]

    from airflow.sdk.exceptions import ParamValidationError

    # A value outside its domain is refused by the Params' schema before a run exists; a rule between
    # parameters by validate_config, before anything is made.
    with pytest.raises(ParamValidationError, match="training_instance_count"):
        run(pipeline, conf(tiny_zip, training_instance_count=0))
    state, tasks, out, _ = run(pipeline, conf(tiny_zip, tuning_max_parallel_jobs=2))
    assert state == "failed" and tasks["validate_config"] == "failed", tasks
    assert set(tasks.values()) == {"failed", "upstream_failed"}, "a bad parameter stops the run before anything"
    assert BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    state, tasks, out, _ = run(pipeline, conf(tiny_zip, tuning_max_jobs=2))
    assert state == "success", tasks
    assert tasks.pop("train_on_ec2") == "skipped" and set(tasks.values()) == {"success"}, tasks
    first_model = out["train"]["Training"]["TrainingJobName"]
    assert serving_config(sagemaker) == first_model
    assert scaling_of(autoscaling) == [(1, 2)]
    assert out["autoscale_endpoint"]["ScalingPolicy"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 100
    front_door = out["deploy_front_door"]
    assert (front_door["Alias"], front_door["ReservedConcurrentExecutions"]) == ("live", 3)
    assert front_door["ProvisionedConcurrency"]["Status"] == "READY" and front_door["FunctionUrl"]
    assert lam.get_alias(FunctionName=function, Name="live")["FunctionVersion"] == front_door["Version"]
    checked = out["check_front_door"]
    assert checked["events"] == {"image": 3, "url": 0}, "three image events agreed with the endpoint"
    assert "not an https host the function may fetch from" in checked["url_skipped"]
    summary = out["report"]
    assert summary["front_door"]["provisioned_concurrency"] == 1 and summary["scaling"]["max"] == 2
    assert len(summary["trials"]) == 2 and set(summary["best_hyperparameters"]) >= {"learning_rate", "batch_size",
                                                                                     "epochs"}
    assert summary["endpoint"]["smoke_images"] == 5 and summary["endpoint"]["replaced_model"] is None
    report_key = summary["report_uri"].split("/", 3)[3]
    assert b"## Best hyperparameters" in s3.get_object(Bucket=BUCKET, Key=report_key)["Body"].read()
    assert out["stage_dataset"]["uploaded"] is True
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())

    # The second run trains on two hosts (DistributedDataParallel across two local "instances") and serves on
    # a bigger instance type, which AWS forbids under a registered scalable target: deregistered, registered again.
    second = conf(tiny_zip, training_instance_count=2, endpoint_instance_type="ml.m5.xlarge")
    state, tasks, out, second_run = run(pipeline, second)
    assert state == "success", tasks
    assert scaling_of(autoscaling) == [(1, 2)]
    assert out["deploy_front_door"]["Changed"] is False and out["deploy_front_door"]["Version"] == front_door["Version"]
    second_model = out["train"]["Training"]["TrainingJobName"]
    assert out["train"]["Training"]["ResourceConfig"]["InstanceCount"] == 2
    assert second_model != first_model and serving_config(sagemaker) == second_model
    assert out["stage_dataset"]["uploaded"] is False, "an identical dataset version is not uploaded again"
    assert out["evaluate"]["serving"]["model_name"] == first_model
    assert out["report"]["endpoint"]["replaced_model"] == first_model
    packages = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    assert len(packages) == 2 and {p["ModelApprovalStatus"] for p in packages} == {"Approved"}
    lineage = sagemaker.describe_model_package(ModelPackageName=out["register_model"]["model_package_arn"])
    assert lineage["CustomerMetadataProperties"]["training_job"] == second_model
    assert lineage["CustomerMetadataProperties"]["dataset_sha256"] == out["stage_dataset"]["sha256"]

    # Clearing the whole run and running every task again adopts what the first try made.
    before = counts(sagemaker)
    state, tasks, out, _ = run(pipeline, second, again=second_run)
    assert state == "success" and tasks.pop("train_on_ec2") == "skipped" and set(tasks.values()) == {"success"}, tasks
    assert out["train"]["Training"]["TrainingJobName"] == second_model
    assert out["report"]["endpoint"]["replaced_model"] is None
    assert counts(sagemaker) == before, "a re-run makes no duplicate resources"
    assert serving_config(sagemaker) == second_model

    # The third run trains as managed spot training, checkpointing to S3, and its model fails the gate.
    state, tasks, out, _ = run(pipeline, conf(tiny_zip, accuracy_threshold=1.0, use_spot_instances=True))
    assert out["evaluate"]["metrics"]["test_accuracy"] < 1.0, "precondition: the tiny model is not perfect"
    assert state == "success", tasks
    spot = sagemaker.describe_training_job(TrainingJobName=out["train"]["Training"]["TrainingJobName"])
    assert spot["EnableManagedSpotTraining"] is True
    checkpoints = s3.list_objects_v2(Bucket=BUCKET, Prefix=spot["CheckpointConfig"]["S3Uri"].split("/", 3)[3])
    assert checkpoints["KeyCount"] >= 1, "every epoch's checkpoint is synced to S3"
    deploying = ("plan_deployment", "register_model", "create_model", "deploy_endpoint", "autoscale_endpoint",
                 "smoke_test", "deploy_front_door", "check_front_door")
    assert {t: tasks[t] for t in deploying} == dict.fromkeys(deploying, "skipped")
    assert tasks["report"] == "success" and out["report"]["endpoint"] is None
    assert "below the threshold" in out["report"]["decision"]["reason"]
    assert serving_config(sagemaker) == second_model, "a closed gate leaves the endpoint alone"
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 2

    # The fourth run trains on EC2 through SSM with the given hyperparameters; evaluate and the deployment take
    # its result as they take SageMaker's.
    state, tasks, out, _ = run(pipeline, conf(tiny_zip, training_backend="ec2"))
    assert state == "success", tasks
    assert (tasks["tune"], tasks["train"], tasks["train_on_ec2"]) == ("skipped", "skipped", "success")
    trained = out["train_on_ec2"]["Training"]
    assert trained["HyperParameters"]["epochs"] == "2" and trained["InstanceId"].startswith("i-")
    assert serving_config(sagemaker) == trained["TrainingJobName"], (tasks, out.get("evaluate"), out.get("deploy_endpoint"))
    instance = ec2.describe_instances(InstanceIds=[trained["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert instance["State"]["Name"] in ("shutting-down", "terminated")
    assert out["report"]["ec2"]["sagemaker_instance_type"] == "ml.m5.large" and out["report"]["tuning_job"] is None
    assert out["check_front_door"]["events"]["image"] == 3
    lineage = sagemaker.describe_model_package(ModelPackageName=out["register_model"]["model_package_arn"])
    assert lineage["CustomerMetadataProperties"]["training_backend"] == "ec2"

    state, tasks, _, _ = run(teardown, {"project": "dog-breed", "endpoint_name": ENDPOINT,
                                        "lambda_function_name": function})
    assert state == "success", tasks
    assert sagemaker.list_endpoints(NameContains=ENDPOINT)["Endpoints"] == []
    assert sagemaker.list_models(NameContains="dog-breed-")["Models"] == []
    assert sagemaker.list_endpoint_configs(NameContains="dog-breed-")["EndpointConfigs"] == []
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 3
    assert scaling_of(autoscaling) == []
    assert function not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert f"{function}-role" not in {r["RoleName"] for r in aws_client("iam").list_roles()["Roles"]}
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]},
                                              {"Name": "tag-key", "Values": ["dog-breed:job"]}])["Reservations"]
    assert running == []
