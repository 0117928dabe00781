"""CreateTrainingJob, DescribeTrainingJob, ListTrainingJobs, StopTrainingJob.

CreateTrainingJob refuses, with an explicit error, every option local processes cannot honour;
what it accepts really runs (local_aws.training.training_runner).
"""

from local_aws import sandbox
from local_aws.exceptions import NotSupportedLocally, ValidationException
from local_aws.routing import action
from local_aws.sagemaker.execution_roles import require_assumable
from local_aws.sagemaker.kms_keys import TRAINING_KEY_MEMBERS, require_keys
from local_aws.sagemaker.metric_parser import MetricParser
from local_aws.sagemaker.pytorch_images import require_pytorch_image
from local_aws.sagemaker.resource_actions import describe_action, list_action
from local_aws.sagemaker.training_jobs import TrainingJob, TrainingJobStore
from local_aws.training.training_runner import start_training_job

# Options whose work local_aws does not do; accepting them would pretend it happened.
_REFUSED_MEMBERS = {
    "VpcConfig": "Training runs on the loopback interface; there is no VPC.",
    "DebugRuleConfigurations": "Debugger rules run as processing jobs, which local_aws does not run.",
    "ProfilerRuleConfigurations": "Profiler rules run as processing jobs, which local_aws does not run.",
    "DebugHookConfig": "SageMaker Debugger is not available.",
    "TensorBoardOutputConfig": "TensorBoard output is not collected.",
    "RetryStrategy": "Jobs are not retried.",
    "RemoteDebugConfig": "Remote debugging is not available.",
    "InfraCheckConfig": "There are no instances to check.",
    "SessionChainingConfig": "Session chaining is not available.",
    "ModelPackageConfig": "Training into a model package is not available; register the model after training.",
    "ServerlessJobConfig": "Serverless training is not available.",
}
_GPU_FAMILIES = ("ml.p", "ml.g", "ml.trn", "ml.inf", "ml.dl")
_FILE_MODES = {"File", "FastFile"}  # both give the script a file system; local_aws downloads the data first


@action("sagemaker", "CreateTrainingJob")
def create_training_job_action(params, ctx):
    return {"TrainingJobArn": create_training_job(params, ctx).arn}


def create_training_job(params: dict, ctx, tuning_job_arn: str | None = None) -> TrainingJob:
    """Validate, record and start a training job (also used for a tuning job's trials)."""
    check_training_request(ctx, params)
    request = {k: v for k, v in params.items() if k != "Tags"}
    jobs = ctx.state(TrainingJobStore)
    name = params["TrainingJobName"]
    job = jobs.add(TrainingJob(name, jobs.arn(name), request, tuning_job_arn), params.get("Tags"))
    start_training_job(job, ctx.platform, ctx.account_id, ctx.region)
    return job


def check_training_request(ctx, params: dict) -> None:
    """What SageMaker checks of a training request (a job's, or a tuning job's trial): what local processes
    cannot honour, the role it must be able to assume, the KMS keys that must exist."""
    refuse_unsupported(params)
    require_assumable(ctx, params["RoleArn"])
    require_keys(ctx, params, TRAINING_KEY_MEMBERS)


def refuse_unsupported(params: dict) -> None:
    """Raise for any option of a CreateTrainingJob request that local processes cannot honour."""
    for member, why in _REFUSED_MEMBERS.items():
        if member in params:
            raise NotSupportedLocally(member, why)
    profiler = params.get("ProfilerConfig")
    if profiler is not None and not profiler.get("DisableProfiler", False):
        raise NotSupportedLocally("ProfilerConfig", "SageMaker Profiler is not available; set DisableProfiler.")
    if params.get("EnableNetworkIsolation"):
        raise NotSupportedLocally("EnableNetworkIsolation for training", "Local processes cannot be isolated.")
    _check_algorithm(params["AlgorithmSpecification"])
    _check_resources(params["ResourceConfig"])
    _check_channels(params.get("InputDataConfig", []), params["AlgorithmSpecification"]["TrainingInputMode"])
    if params["OutputDataConfig"].get("CompressionType", "GZIP") != "GZIP":
        raise NotSupportedLocally("OutputDataConfig.CompressionType NONE", "Artifacts are uploaded as tar.gz.")
    checkpoint = params.get("CheckpointConfig", {})
    if checkpoint.get("LocalPath", "/opt/ml/checkpoints") != "/opt/ml/checkpoints":
        raise NotSupportedLocally("CheckpointConfig.LocalPath", "Checkpoints are synced from /opt/ml/checkpoints.")
    stopping = params.get("StoppingCondition", {})
    if params.get("EnableManagedSpotTraining") and "MaxWaitTimeInSeconds" not in stopping:
        raise ValidationException("MaxWaitTimeInSeconds must be specified when EnableManagedSpotTraining is true.")
    if "MaxWaitTimeInSeconds" in stopping and stopping["MaxWaitTimeInSeconds"] < stopping.get("MaxRuntimeInSeconds", 86400):
        raise ValidationException("MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds.")


def _check_algorithm(spec: dict) -> None:
    if "TrainingImage" not in spec:
        raise NotSupportedLocally("AlgorithmName", "Give a PyTorch training image as TrainingImage.")
    require_pytorch_image(spec["TrainingImage"], "training")
    if "TrainingImageConfig" in spec:
        raise NotSupportedLocally("AlgorithmSpecification.TrainingImageConfig", "The PyTorch image is not pulled.")
    if "ContainerArguments" in spec and "ContainerEntrypoint" not in spec:
        raise NotSupportedLocally("AlgorithmSpecification.ContainerArguments without ContainerEntrypoint",
                                  "The PyTorch image's own entrypoint is not run; give the command as "
                                  "ContainerEntrypoint (and ContainerArguments).")
    if "ContainerEntrypoint" in spec and sandbox.mode() == sandbox.NONE:
        raise NotSupportedLocally(f"AlgorithmSpecification.ContainerEntrypoint with {sandbox.MODE_VARIABLE}="
                                  f"{sandbox.NONE}", "Without a sandbox there is no /opt/ml for its command to use.")
    if spec["TrainingInputMode"] not in _FILE_MODES:
        raise NotSupportedLocally(f"TrainingInputMode {spec['TrainingInputMode']}", "Use File or FastFile.")
    names = [definition["Name"] for definition in spec.get("MetricDefinitions", [])]
    if len(names) != len(set(names)):
        raise ValidationException("MetricDefinitions names must be unique.")
    MetricParser(spec.get("MetricDefinitions", []))  # raises for a regex that cannot capture a value


def _check_resources(resources: dict) -> None:
    if "InstanceGroups" in resources:
        raise NotSupportedLocally("ResourceConfig.InstanceGroups", "Give InstanceType and InstanceCount.")
    if "InstanceType" not in resources or "InstanceCount" not in resources:
        raise ValidationException("ResourceConfig must specify InstanceType and InstanceCount.")
    if resources["InstanceType"].startswith(_GPU_FAMILIES):
        raise NotSupportedLocally(
            f"the accelerated instance type {resources['InstanceType']}", "This machine has no GPU; use a CPU "
            "instance type such as ml.m5.xlarge or ml.c5.2xlarge."
        )
    if resources.get("KeepAlivePeriodInSeconds"):
        raise NotSupportedLocally("warm pools (KeepAlivePeriodInSeconds)")


def _check_channels(channels: list[dict], default_mode: str) -> None:
    names = [channel["ChannelName"] for channel in channels]
    if len(names) != len(set(names)):
        raise ValidationException("Channel names in InputDataConfig must be unique.")
    for channel in channels:
        source = channel["DataSource"].get("S3DataSource")
        if source is None:
            raise NotSupportedLocally("file system data sources", "Give channels an S3DataSource.")
        if source["S3DataType"] != "S3Prefix":
            raise NotSupportedLocally(f"S3DataType {source['S3DataType']}", "Use S3Prefix.")
        if channel.get("InputMode", default_mode) not in _FILE_MODES:
            raise NotSupportedLocally(f"InputMode {channel['InputMode']}", "Use File or FastFile.")
        if channel.get("CompressionType", "None") != "None":
            raise NotSupportedLocally("compressed channels", "Give uncompressed objects.")
        for member in ("ShuffleConfig", "RecordWrapperType"):
            if member in channel and channel[member] != "None":
                raise NotSupportedLocally(f"channel {member}", "They apply to Pipe mode only.")


describe_action("DescribeTrainingJob", TrainingJobStore, "TrainingJobName")
list_action("ListTrainingJobs", TrainingJobStore, "TrainingJobSummaries", name_key="TrainingJobName",
            status_key="TrainingJobStatus",
            sort_keys={"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus"})


@action("sagemaker", "StopTrainingJob")
def stop_training_job(params, ctx):
    ctx.state(TrainingJobStore).get(params["TrainingJobName"]).stop()
    return {}

