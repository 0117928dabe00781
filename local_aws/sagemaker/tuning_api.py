"""CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob, ListHyperParameterTuningJobs,
ListTrainingJobsForHyperParameterTuningJob, StopHyperParameterTuningJob."""

from local_aws.exceptions import NotSupportedLocally, ValidationException
from local_aws.routing import action
from local_aws.sagemaker.listing import listed
from local_aws.sagemaker.resource_actions import describe_action, list_action
from local_aws.sagemaker.search_space import search_space
from local_aws.sagemaker.training_api import check_training_request, create_training_job
from local_aws.sagemaker.tuning_jobs import TuningJob, TuningJobStore
from local_aws.training.tuner import start_tuning_job, trial_request

_REFUSED_MEMBERS = {
    "TrainingJobDefinitions": "Give one TrainingJobDefinition.",
    "WarmStartConfig": "Warm starts are not available.",
    "Autotune": "Autotune is not available; give the strategy and ranges.",
}


@action("sagemaker", "CreateHyperParameterTuningJob")
def create_tuning_job(params, ctx):
    for member, why in _REFUSED_MEMBERS.items():
        if member in params:
            raise NotSupportedLocally(member, why)
    if "TrainingJobDefinition" not in params:
        raise ValidationException("TrainingJobDefinition is required.")
    config = params["HyperParameterTuningJobConfig"]
    definition = params["TrainingJobDefinition"]
    _check_config(config)
    _check_objective(config, definition)
    parameters = search_space(config.get("ParameterRanges", {}), definition.get("StaticHyperParameters", {}))
    if "HyperParameterTuningResourceConfig" in definition:
        raise NotSupportedLocally("HyperParameterTuningResourceConfig", "Give ResourceConfig.")
    check_training_request(ctx, trial_request(definition, "trial", {},
                                              config["HyperParameterTuningJobObjective"]["MetricName"]))
    jobs = ctx.state(TuningJobStore)
    name = params["HyperParameterTuningJobName"]
    job = TuningJob(name, jobs.arn(name), {k: v for k, v in params.items() if k != "Tags"})
    jobs.add(job, params.get("Tags"))
    start_tuning_job(job, parameters, ctx, create_training_job)
    return {"HyperParameterTuningJobArn": job.arn}


def _check_config(config: dict) -> None:
    if config["Strategy"] not in ("Bayesian", "Random"):
        raise NotSupportedLocally(f"the {config['Strategy']} strategy", "Use Bayesian or Random.")
    if "StrategyConfig" in config:
        raise NotSupportedLocally("StrategyConfig", "It configures Hyperband, which is not available.")
    if config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
        raise NotSupportedLocally("TrainingJobEarlyStoppingType Auto", "Set it to Off.")
    criteria = config.get("TuningJobCompletionCriteria", {})
    if set(criteria) - {"TargetObjectiveMetricValue"}:
        raise NotSupportedLocally("TuningJobCompletionCriteria other than TargetObjectiveMetricValue")
    limits = config["ResourceLimits"]
    if "MaxNumberOfTrainingJobs" not in limits:
        raise ValidationException("ResourceLimits.MaxNumberOfTrainingJobs is required for the Bayesian and Random strategies.")


def _check_objective(config: dict, definition: dict) -> None:
    objective = config.get("HyperParameterTuningJobObjective")
    if objective is None:
        raise ValidationException("HyperParameterTuningJobObjective is required.")
    spec = definition["AlgorithmSpecification"]
    if "TrainingImage" not in spec:
        raise NotSupportedLocally("AlgorithmName", "Give a PyTorch training image as TrainingImage.")
    if objective["MetricName"] not in {d["Name"] for d in spec.get("MetricDefinitions", [])}:
        raise ValidationException(
            "A metric is required for this hyperparameter tuning job objective. Provide a metric in the metric definitions."
        )


describe_action("DescribeHyperParameterTuningJob", TuningJobStore, "HyperParameterTuningJobName")
list_action("ListHyperParameterTuningJobs", TuningJobStore, "HyperParameterTuningJobSummaries",
            name_key="HyperParameterTuningJobName", status_key="HyperParameterTuningJobStatus",
            sort_keys={"Name": "HyperParameterTuningJobName", "CreationTime": "CreationTime",
                       "Status": "HyperParameterTuningJobStatus"},
            default_sort="Name")


@action("sagemaker", "StopHyperParameterTuningJob")
def stop_tuning_job(params, ctx):
    ctx.state(TuningJobStore).get(params["HyperParameterTuningJobName"]).stop()
    return {}


@action("sagemaker", "ListTrainingJobsForHyperParameterTuningJob")
def list_trials(params, ctx):
    summaries = ctx.state(TuningJobStore).get(params["HyperParameterTuningJobName"]).trial_summaries()
    for summary in summaries:
        metric = summary.get("FinalHyperParameterTuningJobObjectiveMetric")
        summary["_objective"] = None if metric is None else metric["Value"]
    answer = listed(
        "TrainingJobSummaries", summaries, params, name_key="TrainingJobName", status_key="TrainingJobStatus",
        sort_keys={"Name": "TrainingJobName", "CreationTime": "CreationTime", "Status": "TrainingJobStatus",
                   "FinalObjectiveMetricValue": "_objective"},
        default_sort="Name",
    )
    for trial in answer["TrainingJobSummaries"]:
        trial.pop("_objective")
    return answer
