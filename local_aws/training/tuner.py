"""Runs a hyperparameter tuning job: Optuna proposes hyperparameters, each trial is a real
training job, its final objective metric goes back to Optuna.

Random uses Optuna's RandomSampler and Bayesian its TPESampler (with the constant liar, so that
parallel trials do not all probe the same spot), both seeded with the job's RandomSeed.
"""

import logging
import os
import secrets
import threading
import time

import optuna
from optuna.trial import TrialState

from local_aws.platform import RequestContext
from local_aws.sagemaker.search_space import TunedParameter
from local_aws.sagemaker.tuning_jobs import Trial, TuningJob

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.5


def start_tuning_job(job: TuningJob, parameters: list[TunedParameter], ctx: RequestContext,
                     create_training_job) -> threading.Thread:
    """`create_training_job(params, ctx, tuning_job_arn)` starts one trial (passed in to keep
    the compute plane free of the API layer)."""
    run = TuningRun(job, parameters, ctx, create_training_job)
    thread = threading.Thread(target=run.run, name=f"tuning-{job.name}", daemon=True)
    thread.start()
    return thread


def max_parallel_trials(requested: int, instance_count: int, cores: int) -> int:
    """Trials at once: what was asked, but no more than `cores` can host (at least one)."""
    return max(1, min(requested, cores // instance_count))


# HyperParameterTrainingJobDefinition members that a trial's CreateTrainingJob takes as they are.
_TRAINING_JOB_MEMBERS = (
    "RoleArn", "InputDataConfig", "VpcConfig", "OutputDataConfig", "ResourceConfig", "StoppingCondition",
    "EnableNetworkIsolation", "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
    "RetryStrategy", "Environment",
)


def trial_request(definition: dict, name: str, tuned: dict[str, str], objective_metric: str) -> dict:
    """The CreateTrainingJob request of one trial. Like SageMaker, it names the objective metric in the
    hyperparameter `_tuning_objective_metric`, so entry points must tolerate that argument here too."""
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": definition["AlgorithmSpecification"],
        "HyperParameters": {**definition.get("StaticHyperParameters", {}), **tuned,
                            "_tuning_objective_metric": objective_metric},
        **{member: definition[member] for member in _TRAINING_JOB_MEMBERS if member in definition},
    }
    if "CheckpointConfig" in definition:
        # One folder per trial, so that no trial resumes from another's checkpoint.
        config = definition["CheckpointConfig"]
        request["CheckpointConfig"] = {**config, "S3Uri": f"{config['S3Uri'].rstrip('/')}/{name}"}
    return request


def trial_name(tuning_job_name: str, index: int) -> str:
    return f"{tuning_job_name}-{index:03d}-{secrets.token_hex(4)}"


class TuningRun:
    def __init__(self, job: TuningJob, parameters: list[TunedParameter], ctx: RequestContext, create_training_job):
        self.job = job
        self.parameters = {p.name: p for p in parameters}
        self.ctx = ctx
        self.create_training_job = create_training_job
        config = job.config
        seed = config.get("RandomSeed", 0)
        sampler = (
            optuna.samplers.TPESampler(seed=seed, constant_liar=True)
            if config["Strategy"] == "Bayesian"
            else optuna.samplers.RandomSampler(seed=seed)
        )
        direction = "maximize" if job.objective["Type"] == "Maximize" else "minimize"
        self.study = optuna.create_study(direction=direction, sampler=sampler)
        limits = config["ResourceLimits"]
        self.max_trials = limits["MaxNumberOfTrainingJobs"]
        instance_count = job.request["TrainingJobDefinition"]["ResourceConfig"]["InstanceCount"]
        self.max_parallel = max_parallel_trials(limits["MaxParallelTrainingJobs"], instance_count, os.cpu_count() or 1)
        if self.max_parallel < limits["MaxParallelTrainingJobs"]:
            logger.info("tuning job %s: running %d trials at a time (of %d asked) on %d cores",
                        job.name, self.max_parallel, limits["MaxParallelTrainingJobs"], os.cpu_count())
        self.max_runtime = limits.get("MaxRuntimeInSeconds")
        self.target = config.get("TuningJobCompletionCriteria", {}).get("TargetObjectiveMetricValue")

    def run(self) -> None:
        started = time.monotonic()
        running: dict[int, tuple[optuna.trial.Trial, Trial]] = {}
        launched = 0
        try:
            while True:
                for number, (optuna_trial, trial) in list(running.items()):
                    if trial.job.finished.is_set():
                        self._tell(optuna_trial, trial)
                        del running[number]
                stopping = self.job.stop_requested.is_set() or self._out_of_time(started) or self._target_reached()
                if stopping:
                    for _, trial in running.values():
                        trial.job.request_stop()
                if not stopping and launched < self.max_trials and len(running) < self.max_parallel:
                    launched += 1
                    optuna_trial, trial = self._launch(launched)
                    running[optuna_trial.number] = (optuna_trial, trial)
                    continue
                if not running:
                    break
                time.sleep(POLL_SECONDS)
        except Exception as error:
            logger.exception("tuning job %s failed inside local_aws", self.job.name)
            for _, trial in running.values():
                trial.job.request_stop()
            self.job.finish("Failed", f"InternalServerError: local_aws could not run the tuning job: {error}")
            return
        self._finish(launched)

    def _launch(self, index: int) -> tuple[optuna.trial.Trial, Trial]:
        distributions = {name: p.distribution for name, p in self.parameters.items()}
        optuna_trial = self.study.ask(distributions)
        tuned = {name: self.parameters[name].to_hyperparameter(value) for name, value in optuna_trial.params.items()}
        params = trial_request(self.job.request["TrainingJobDefinition"], trial_name(self.job.name, index), tuned,
                               self.job.objective["MetricName"])
        trial = Trial(self.create_training_job(params, self.ctx, self.job.arn), tuned)
        self.job.add_trial(trial)
        return optuna_trial, trial

    def _tell(self, optuna_trial: optuna.trial.Trial, trial: Trial) -> None:
        value = self.job.objective_value(trial.job)
        if value is None:
            self.study.tell(optuna_trial, state=TrialState.FAIL)
        else:
            self.study.tell(optuna_trial, value)

    def _out_of_time(self, started: float) -> bool:
        return self.max_runtime is not None and time.monotonic() - started > self.max_runtime

    def _target_reached(self) -> bool:
        best = self.job.best_trial()
        if self.target is None or best is None:
            return False
        value = self.job.objective_value(best.job)
        return value >= self.target if self.job.objective["Type"] == "Maximize" else value <= self.target

    def _finish(self, launched: int) -> None:
        if self.job.stop_requested.is_set():
            self.job.finish("Stopped")
        elif self.job.best_trial() is None:
            self.job.finish(
                "Failed",
                f"No training job succeeded after {launched} attempts. "
                "Please take a look at the training job failures to get more details.",
            )
        else:
            self.job.finish("Completed")
