"""The SageMaker API requests of the pipeline, as pure functions of the configuration.

Each function returns the keyword arguments of one boto3 call (`create_hyper_parameter_tuning_job`,
`create_training_job`, `create_model`, `create_endpoint_config`, `create_endpoint`), ready for the
provider's operators; the tests validate every one against botocore's service model.
"""

from __future__ import annotations

from typing import Any

from dog_breed.config import PipelineConfig
from dog_breed.image_uris import pytorch_image_uri
from dog_breed.layout import DataLayout
from dog_breed.naming import ResourceNames
from model_code.metric_definitions import METRIC_DEFINITIONS, OBJECTIVE_METRIC

TRAINING_CHANNEL = "training"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
TUNED_HYPERPARAMETERS = ("learning_rate", "batch_size", "epochs")
VARIANT_NAME = "AllTraffic"
PROFILING_INTERVAL_MS = 500


def tags(config: PipelineConfig, names: ResourceNames) -> list[dict[str, str]]:
    return [{"Key": "project", "Value": config.project}, {"Key": "pipeline-run", "Value": names.run_tag}]


def static_hyperparameters(config: PipelineConfig, layout: DataLayout) -> dict[str, str]:
    """What every trial and the final training pass to train.py besides the tuned values."""
    return {
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": layout.code_uri,
        "sagemaker_region": config.region,
        **config.extra_hyperparameters,
    }


def _algorithm(config: PipelineConfig, instance_type: str) -> dict[str, Any]:
    return {
        "TrainingImage": pytorch_image_uri(config.region, instance_type, inference=False),
        "TrainingInputMode": "File",
        "MetricDefinitions": [dict(d) for d in METRIC_DEFINITIONS],
    }


def _input(layout: DataLayout) -> list[dict[str, Any]]:
    return [{
        "ChannelName": TRAINING_CHANNEL,
        "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix",
            "S3Uri": layout.data_uri,
            "S3DataDistributionType": "FullyReplicated",
        }},
    }]


def _resources(config: PipelineConfig, instance_type: str, count: int) -> dict[str, Any]:
    return {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": config.volume_size_gb}


def tuning_request(config: PipelineConfig, names: ResourceNames, layout: DataLayout) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": names.tuning_job,
        "HyperParameterTuningJobConfig": {
            "Strategy": config.tuning_strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": OBJECTIVE_METRIC},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": config.tuning_max_jobs,
                "MaxParallelTrainingJobs": config.tuning_max_parallel_jobs,
            },
            "ParameterRanges": {
                "ContinuousParameterRanges": [{
                    "Name": "learning_rate",
                    "MinValue": str(config.learning_rate_min),
                    "MaxValue": str(config.learning_rate_max),
                    "ScalingType": "Logarithmic",
                }],
                "IntegerParameterRanges": [{
                    "Name": "epochs",
                    "MinValue": str(config.epochs_min),
                    "MaxValue": str(config.epochs_max),
                    "ScalingType": "Auto",
                }],
                "CategoricalParameterRanges": [{
                    "Name": "batch_size",
                    "Values": [str(b) for b in config.batch_sizes],
                }],
            },
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": static_hyperparameters(config, layout),
            "AlgorithmSpecification": _algorithm(config, config.tuning_instance_type),
            "RoleArn": config.sagemaker_role_arn,
            "InputDataConfig": _input(layout),
            "OutputDataConfig": {"S3OutputPath": layout.tuning_output_uri},
            "ResourceConfig": _resources(config, config.tuning_instance_type, 1),
            "StoppingCondition": {"MaxRuntimeInSeconds": config.max_runtime_seconds},
        },
        "Tags": tags(config, names),
    }


def training_request(config: PipelineConfig, names: ResourceNames, layout: DataLayout) -> dict[str, Any]:
    """The final training job, without the tuned hyperparameters (the train task adds the best trial's)."""
    request: dict[str, Any] = {
        "TrainingJobName": names.training_job,
        "AlgorithmSpecification": _algorithm(config, config.training_instance_type),
        "HyperParameters": static_hyperparameters(config, layout),
        "RoleArn": config.sagemaker_role_arn,
        "InputDataConfig": _input(layout),
        "OutputDataConfig": {"S3OutputPath": layout.training_output_uri},
        "ResourceConfig": _resources(config, config.training_instance_type, config.training_instance_count),
        "StoppingCondition": {"MaxRuntimeInSeconds": config.max_runtime_seconds},
        "Tags": tags(config, names),
    }
    if config.use_spot_instances:
        request["EnableManagedSpotTraining"] = True
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = config.max_wait_seconds
        request["CheckpointConfig"] = {
            "S3Uri": layout.checkpoint_uri(names.training_job),
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        }
    if config.enable_debugger:
        request["DebugHookConfig"] = {"S3OutputPath": layout.debugger_uri}
    if config.enable_profiler:
        request["ProfilerConfig"] = {
            "S3OutputPath": layout.profiler_uri,
            "ProfilingIntervalInMilliseconds": PROFILING_INTERVAL_MS,
        }
    return request


def with_tuned_hyperparameters(request: dict[str, Any], tuned: dict[str, str]) -> dict[str, Any]:
    """The training request with the best trial's values of the tuned hyperparameters."""
    missing = [name for name in TUNED_HYPERPARAMETERS if name not in tuned]
    if missing:
        raise ValueError(f"the best trial lacks tuned hyperparameters {missing}; it has {sorted(tuned)}")
    best = {name: str(tuned[name]).strip('"') for name in TUNED_HYPERPARAMETERS}
    return {**request, "HyperParameters": {**request["HyperParameters"], **best}}


def model_request(config: PipelineConfig, names: ResourceNames, model_name: str,
                  model_data_url: str) -> dict[str, Any]:
    """A model serving `model.tar.gz` with its own `code/inference.py`, cut off from the network."""
    return {
        "ModelName": model_name,
        "PrimaryContainer": {
            "Image": pytorch_image_uri(config.region, config.endpoint_instance_type, inference=True),
            "ModelDataUrl": model_data_url,
            "Environment": {
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                "SAGEMAKER_REGION": config.region,
            },
        },
        "ExecutionRoleArn": config.sagemaker_role_arn,
        "EnableNetworkIsolation": True,
        "Tags": tags(config, names),
    }


def endpoint_config_request(config: PipelineConfig, names: ResourceNames, model_name: str) -> dict[str, Any]:
    # One endpoint config per model, named after it: re-running a deployment finds it instead of copying it.
    return {
        "EndpointConfigName": model_name,
        "ProductionVariants": [{
            "VariantName": VARIANT_NAME,
            "ModelName": model_name,
            "InstanceType": config.endpoint_instance_type,
            "InitialInstanceCount": config.endpoint_instance_count,
            "InitialVariantWeight": 1.0,
        }],
        "Tags": tags(config, names),
    }


def rollback_alarm_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-5xx"


def endpoint_request(config: PipelineConfig, names: ResourceNames, model_name: str) -> dict[str, Any]:
    """Create-or-update of the endpoint: blue/green, rolled back when the 5xx alarm fires while baking
    (with `auto_rollback_alarm`)."""
    deployment: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "ALL_AT_ONCE",
                "WaitIntervalInSeconds": config.deployment_bake_seconds,
            },
            "TerminationWaitInSeconds": 0,
        },
    }
    if config.auto_rollback_alarm:
        deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": rollback_alarm_name(config.endpoint_name)}]}
    return {
        "EndpointName": config.endpoint_name,
        "EndpointConfigName": model_name,
        "DeploymentConfig": deployment,
        "Tags": tags(config, names),
    }


def rollback_alarm_request(config: PipelineConfig) -> dict[str, Any] | None:
    """CloudWatch `put_metric_alarm`: any 5xx answer from the endpoint's variant in a minute; None when
    deployments do not roll back on the alarm."""
    if not config.auto_rollback_alarm:
        return None
    return {
        "AlarmName": rollback_alarm_name(config.endpoint_name),
        "AlarmDescription": f"Rolls back a deployment of {config.endpoint_name} that answers with 5xx errors.",
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocation5XXErrors",
        "Dimensions": [
            {"Name": "EndpointName", "Value": config.endpoint_name},
            {"Name": "VariantName", "Value": VARIANT_NAME},
        ],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }


def deployment_requests(config: PipelineConfig, names: ResourceNames, model_name: str,
                        model_data_url: str) -> dict[str, Any]:
    """Everything that deploys a model: `model` (CreateModel), `endpoint` (the endpoint operator's config:
    CreateEndpointConfig and CreateEndpoint) and `rollback_alarm` (PutMetricAlarm, or None)."""
    return {
        "model": model_request(config, names, model_name, model_data_url),
        "endpoint": {
            "EndpointConfig": endpoint_config_request(config, names, model_name),
            "Endpoint": endpoint_request(config, names, model_name),
        },
        "rollback_alarm": rollback_alarm_request(config),
    }
