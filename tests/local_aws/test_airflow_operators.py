"""The Amazon provider's SageMaker operators, unchanged, against the edge: AWS_ENDPOINT_URL is all
they are told."""

import pytest
from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator, SageMakerTuningOperator

from local_aws_testing import train_py_request, unique_name


@pytest.mark.slow
def test_training_operator_runs_train_py_and_prints_its_log(aws_env, bucket, model_code_in_s3, capfd):
    name = unique_name("airflow-train")
    operator = SageMakerTrainingOperator(
        task_id="train", config=train_py_request(name, bucket, *model_code_in_s3, instance_count=1),
        aws_conn_id=None, wait_for_completion=True, print_log=True, check_interval=1,
    )
    result = operator.execute({})

    described = result["Training"]
    assert described["TrainingJobName"] == name and described["TrainingJobStatus"] == "Completed"
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith(f"/{name}/output/model.tar.gz")
    # Airflow 3 task logging is structlog on the standard streams. The script's own output, read back
    # from CloudWatch Logs by the hook, is in it.
    task_log = "".join(capfd.readouterr())
    assert "epoch=1 valid:loss=" in task_log
    assert "test:accuracy=" in task_log
    assert "Completed - Training job completed" in task_log
    assert "Billable seconds:" in task_log


@pytest.mark.slow
def test_training_operator_renames_a_job_that_exists(aws_env, bucket, model_code_in_s3, sm):
    name = unique_name("airflow-again")
    config = train_py_request(name, bucket, *model_code_in_s3, instance_count=1)
    first = SageMakerTrainingOperator(task_id="first", config=dict(config), aws_conn_id=None,
                                      wait_for_completion=False, print_log=False)
    first.execute({})
    second = SageMakerTrainingOperator(task_id="second", config=dict(config), aws_conn_id=None,
                                       wait_for_completion=False, print_log=False)
    renamed = second.execute({})["Training"]["TrainingJobName"]
    assert renamed.startswith(f"{name}-") and renamed != name
    for job in (name, renamed):
        sm.stop_training_job(TrainingJobName=job)


@pytest.mark.slow
def test_tuning_operator_tunes_train_py(aws_env, bucket, model_code_in_s3):
    trial = train_py_request("unused", bucket, *model_code_in_s3, instance_count=1)
    static = {k: v for k, v in trial["HyperParameters"].items() if k != "learning_rate"}
    name = unique_name("airflow-tune")[:32]
    config = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "valid:accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.01",
                                               "ScalingType": "Logarithmic"}],
                "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["adamw", "sgd"]}],
            },
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static,
            **{k: trial[k] for k in ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "OutputDataConfig",
                                     "ResourceConfig", "StoppingCondition")},
        },
    }
    operator = SageMakerTuningOperator(task_id="tune", config=config, aws_conn_id=None,
                                       wait_for_completion=True, check_interval=1)
    described = operator.execute({})["Tuning"]

    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    best = described["BestTrainingJob"]
    assert best["TrainingJobName"].startswith(f"{name}-")
    assert set(best["TunedHyperParameters"]) == {"learning_rate", "optimizer"}
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "valid:accuracy"
