"""The custom operators' settings as the pipeline's parameters make them: the endpoint variant's scaling, the
Lambda front door, and the run's training on EC2. `validate_config` refuses what these settings refuse
(named as the parameters), and the DAG's tasks run with the same settings."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from dog_breed.autoscaling_requests import VariantScaling
from dog_breed.ec2_training import Ec2Training
from dog_breed.front_door_deployment import FrontDoor, function_url_auth
from dog_breed.sagemaker_requests import VARIANT_NAME

if TYPE_CHECKING:
    from dog_breed.config import PipelineConfig
    from dog_breed.layout import DataLayout

# The pipeline's parameter behind each EC2 training setting that a parameter sets.
EC2_PARAMETERS = {"image_id": "ec2_image", "instance_type": "ec2_instance_type", "volume_gb": "ec2_volume_gb",
                  "interpreter": "ec2_interpreter", "hyperparameters": "extra_hyperparameters",
                  "execution_timeout_seconds": "max_runtime_seconds"}


def variant_scaling(c: PipelineConfig) -> VariantScaling:
    return VariantScaling(c.endpoint_name, VARIANT_NAME, c.autoscaling_min_capacity, c.autoscaling_max_capacity,
                          c.autoscaling_target_value, c.autoscaling_scale_in_cooldown,
                          c.autoscaling_scale_out_cooldown)


def front_door(c: PipelineConfig) -> FrontDoor:
    return FrontDoor(c.lambda_function_name, c.endpoint_name, memory_mb=c.lambda_memory_mb,
                     timeout_seconds=c.lambda_timeout_seconds, reserved_concurrency=c.lambda_reserved_concurrency,
                     provisioned_concurrency=c.lambda_provisioned_concurrency,
                     function_url_auth=function_url_auth(c.lambda_function_url_auth))


def ec2_hyperparameters(c: PipelineConfig) -> dict[str, str]:
    """train.py's arguments on EC2: the fixed ones, and the given learning rate, batch size and epochs."""
    return {**c.extra_hyperparameters, "learning_rate": str(c.ec2_learning_rate),
            "batch_size": str(c.ec2_batch_size), "epochs": str(c.ec2_epochs)}


def ec2_training(c: PipelineConfig, job_name: str, layout: DataLayout) -> Ec2Training:
    return Ec2Training(job_name, layout.code_uri, layout.data_uri, layout.ec2_training_output_uri, c.ec2_image,
                       c.ec2_instance_type, c.ec2_volume_gb, c.ec2_interpreter, hyperparameters=ec2_hyperparameters(c),
                       execution_timeout_seconds=c.max_runtime_seconds)


def ec2_training_config(training: Ec2Training) -> dict[str, Any]:
    """The EC2 training operator's `config`: every setting, as JSON for XCom."""
    return dataclasses.asdict(training)


def problems(c: PipelineConfig, job_name: str, layout: DataLayout) -> list[tuple[str, str]]:
    """What the three operators would refuse in these parameters, as (parameter, problem)."""
    found = [(f"autoscaling_{setting}", problem) for setting, problem in variant_scaling(c).problems()]
    found += [(f"lambda_{setting}", problem) for setting, problem in front_door(c).problems()]
    # The job name and S3 URIs come from project, bucket and s3_prefix, which have their own checks.
    found += [(EC2_PARAMETERS[setting], problem) for setting, problem in ec2_training(c, job_name, layout).problems()
              if setting in EC2_PARAMETERS]
    return found
