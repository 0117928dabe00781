"""The whole dog_breed_pipeline DAG against local AWS on a tiny dataset: a first run creates the endpoint,
a second (trained on two hosts) updates it blue/green, re-running every task of that second run adopts
what it made instead of duplicating it, and a third run whose model fails the gate leaves the endpoint
untouched (that run also trains as managed spot training with S3 checkpoints). A bad parameter fails
validate_config before anything exists, and the teardown DAG removes what costs money but keeps the
registry."""

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


def serving_config(sagemaker):
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService"
    return endpoint["EndpointConfigName"]


def test_pipeline_deploys_updates_and_gates(airflow_db, tiny_zip, aws_env, aws_client, dagbag):
    pipeline, teardown = dagbag.dags["dog_breed_pipeline"], dagbag.dags["dog_breed_teardown"]
    sagemaker, s3 = aws_client("sagemaker"), aws_client("s3")

    state, tasks, out, _ = run(pipeline, conf(tiny_zip, training_instance_count=0))
    assert state == "failed" and tasks["validate_config"] == "failed", tasks
    assert set(tasks.values()) == {"failed", "upstream_failed"}, "a bad parameter stops the run before anything"
    assert BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    state, tasks, out, _ = run(pipeline, conf(tiny_zip, tuning_max_jobs=2))
    assert state == "success", tasks
    assert set(tasks.values()) == {"success"}
    first_model = out["train"]["Training"]["TrainingJobName"]
    assert serving_config(sagemaker) == first_model
    summary = out["report"]
    assert len(summary["trials"]) == 2 and set(summary["best_hyperparameters"]) >= {"learning_rate", "batch_size",
                                                                                     "epochs"}
    assert summary["endpoint"]["smoke_images"] == 5 and summary["endpoint"]["replaced_model"] is None
    report_key = summary["report_uri"].split("/", 3)[3]
    assert b"## Best hyperparameters" in s3.get_object(Bucket=BUCKET, Key=report_key)["Body"].read()
    assert out["stage_dataset"]["uploaded"] is True
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())

    # The second run trains on two hosts (DistributedDataParallel across two local "instances").
    state, tasks, out, second_run = run(pipeline, conf(tiny_zip, training_instance_count=2))
    assert state == "success", tasks
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
    state, tasks, out, _ = run(pipeline, conf(tiny_zip, training_instance_count=2), again=second_run)
    assert state == "success" and set(tasks.values()) == {"success"}, tasks
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
    deploying = ("plan_deployment", "register_model", "create_model", "deploy_endpoint", "smoke_test")
    assert {t: tasks[t] for t in deploying} == dict.fromkeys(deploying, "skipped")
    assert tasks["report"] == "success" and out["report"]["endpoint"] is None
    assert "below the threshold" in out["report"]["decision"]["reason"]
    assert serving_config(sagemaker) == second_model, "a closed gate leaves the endpoint alone"
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 2

    state, tasks, _, _ = run(teardown, {"project": "dog-breed", "endpoint_name": ENDPOINT})
    assert state == "success", tasks
    assert sagemaker.list_endpoints(NameContains=ENDPOINT)["Endpoints"] == []
    assert sagemaker.list_models(NameContains="dog-breed-")["Models"] == []
    assert sagemaker.list_endpoint_configs(NameContains="dog-breed-")["EndpointConfigs"] == []
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 2
