"""The profiles: complete sets of parameter defaults. `aws` is sized for the real dogImages dataset on
SageMaker; `local` for the sample dataset on the local AWS endpoint (small model, few epochs, small
tuning budget). Data only: which profile serves, and the changes a deployment makes to it, come from the
environment (environment.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEEP_LEARNING_AMI_PARAMETER = ("/aws/service/deeplearning/ami/x86_64/"
                               "oss-nvidia-driver-gpu-pytorch-2.13-amazon-linux-2023/latest/ami-id")
# Local AWS's instances run Amazon Linux's public parameter's AMI; `python3` is local AWS's own interpreter.
LOCAL_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
USER_DATASET_URL = "https://s3-us-west-1.amazonaws.com/udacity-aind/dog-project/dogImages.zip"
REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATASET_ZIP = REPO_ROOT / "build" / "sample" / "dogImages.zip"

AWS_DEFAULTS: dict[str, Any] = {
    "project": "dog-breed",
    "region": "us-east-1",
    "bucket": "",
    "s3_prefix": "dog-breed",
    "sagemaker_role_arn": "",
    "dataset_url": USER_DATASET_URL,
    "dataset_version": "dogImages-v1",
    "training_backend": "sagemaker",
    "training_instance_type": "ml.m5.xlarge",
    "training_instance_count": 1,
    "tuning_instance_type": "ml.m5.xlarge",
    "tuning_strategy": "Bayesian",
    "tuning_max_jobs": 4,
    "tuning_max_parallel_jobs": 2,
    "learning_rate_min": 0.0001,
    "learning_rate_max": 0.01,
    "batch_sizes": [32, 64, 128],
    "epochs_min": 2,
    "epochs_max": 5,
    # ImageNet weights need the internet, which the training containers have on AWS.
    "extra_hyperparameters": {"arch": "resnet50", "pretrained": "true", "image_size": "224"},
    "max_runtime_seconds": 4 * 3600,
    "volume_size_gb": 30,
    "use_spot_instances": False,
    "max_wait_seconds": 8 * 3600,
    "enable_debugger": False,
    "enable_profiler": False,
    # The user trained once on a Deep Learning AMI with PyTorch, on a t2.xlarge ($0.1856/h, against
    # ml.m5.xlarge's $0.23/h). Its public SSM parameter names the newest build; its PyTorch is /opt/pytorch.
    "ec2_image": DEEP_LEARNING_AMI_PARAMETER,
    "ec2_instance_type": "t2.xlarge",
    "ec2_volume_gb": 100,
    "ec2_interpreter": "/opt/pytorch/bin/python",
    "ec2_learning_rate": 0.001,
    "ec2_batch_size": 64,
    "ec2_epochs": 5,
    "accuracy_threshold": 0.6,
    "max_accuracy_drop": 0.0,
    "model_package_group": "dog-breed-classifier",
    "endpoint_name": "dog-breed",
    "endpoint_instance_type": "ml.m5.large",
    "endpoint_instance_count": 1,
    "deployment_bake_seconds": 300,
    "auto_rollback_alarm": True,
    "smoke_test_images": 20,
    # The user's scaling: 1 to 3 instances, 100 invocations per instance per minute, 30 s cooldowns.
    "autoscaling_min_capacity": 1,
    "autoscaling_max_capacity": 3,
    "autoscaling_target_value": 100.0,
    "autoscaling_scale_in_cooldown": 30,
    "autoscaling_scale_out_cooldown": 30,
    # The user's concurrency: 3 reserved, 3 provisioned (always warm) for a low-traffic application.
    "lambda_function_name": "dog-breed-front-door",
    "lambda_memory_mb": 512,
    "lambda_timeout_seconds": 30,
    "lambda_reserved_concurrency": 3,
    "lambda_provisioned_concurrency": 3,
    "lambda_function_url_auth": "AWS_IAM",
}

# The local endpoint runs every instance as a process on this machine: one host per job, a couple of
# short trials, a tiny model, and the sample dataset's zip that `python -m sample_dataset` builds.
LOCAL_DEFAULTS: dict[str, Any] = {
    **AWS_DEFAULTS,
    "bucket": "dog-breed-local",
    "sagemaker_role_arn": "arn:aws:iam::123456789012:role/dog-breed-sagemaker",
    "dataset_url": SAMPLE_DATASET_ZIP.as_uri(),  # or $DOG_BREED_LOCAL_DATASET_URL (environment.py)
    "dataset_version": "sample-v1",
    "training_instance_type": "ml.m5.large",
    "tuning_instance_type": "ml.m5.large",
    "tuning_max_jobs": 2,
    "tuning_max_parallel_jobs": 1,
    "learning_rate_min": 0.0005,
    "learning_rate_max": 0.005,
    "batch_sizes": [32, 64],
    # One epoch of 22 steps can stop near 0.45 test accuracy; two or three reliably pass 0.95.
    "epochs_min": 2,
    "epochs_max": 3,
    # model_code's tiny-test model: 16-pixel digits train an epoch in seconds and reach ~0.95 test accuracy.
    "extra_hyperparameters": {"arch": "resnet18", "image_size": "16", "augment": "false", "workers": "0"},
    "max_runtime_seconds": 900,
    "max_wait_seconds": 1800,
    "accuracy_threshold": 0.7,
    # Retraining a tiny model on a tiny dataset moves test accuracy by a few points from run to run.
    "max_accuracy_drop": 0.15,
    "deployment_bake_seconds": 0,
    "auto_rollback_alarm": False,
    "smoke_test_images": 10,
    "ec2_image": LOCAL_AMI_PARAMETER,
    "ec2_instance_type": "t3.large",
    "ec2_volume_gb": 8,
    "ec2_interpreter": "python3",
    "ec2_learning_rate": 0.002,
    "ec2_batch_size": 32,
    "ec2_epochs": 2,
    # Every endpoint instance and every warm Lambda environment is a process on this machine's 2 cores:
    # at most 2 endpoint instances, and one provisioned environment (each takes ~0.5 s of CPU to start).
    "autoscaling_max_capacity": 2,
    "lambda_provisioned_concurrency": 1,
}

PROFILES: dict[str, dict[str, Any]] = {"aws": AWS_DEFAULTS, "local": LOCAL_DEFAULTS}
