"""Runs a SageMaker training job in local sandboxes, step by step as SageMaker does on its instances.

Starting -> Downloading (source dir, channels and checkpoints from S3 into each host's `/opt/ml`
stand-in) -> Training (one sandbox per host, `local_aws.sandbox`, named like the host, with its
stand-in mounted at `/opt/ml`; in it `python <sagemaker_program> <hyperparameters>` in `/opt/ml/code` as
the PyTorch container's toolkit runs it, or the job's `ContainerEntrypoint + ContainerArguments` in `/`
as a container runs its command; output to CloudWatch Logs, metrics parsed from it) -> Uploading
(`model.tar.gz` and `output.tar.gz` of algo-1's stand-in, checkpoints) -> Completed, Failed or
Stopped. A managed spot job may be interrupted once (`LOCAL_AWS_SPOT_INTERRUPTION_SECONDS`): Interrupted ->
Starting -> Training again on new hosts with the checkpoints from S3. Whatever happens becomes data on the
job; nothing here raises into the API.
"""

import collections
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from local_aws.access.assume_role_api import assume_role_for
from local_aws.access.role_trust import RoleNotAssumable
from local_aws.containers import s3_files
from local_aws.containers.log_streams import TRAINING_LOG_GROUP, LogStream, ensure_log_group
from local_aws.containers.requirements import unmet_requirements
from local_aws.loopback import free_port
from local_aws.platform import Platform
from local_aws.sandbox import Mount, ProgramNotRunnable, Sandbox, SandboxSpec, host_python_path
from local_aws.sagemaker.execution_roles import SAGEMAKER_PRINCIPAL
from local_aws.sagemaker.metric_parser import MetricParser
from local_aws.sagemaker.training_jobs import TrainingJob
from local_aws.settings import positive_setting
from local_aws.training import toolkit

logger = logging.getLogger(__name__)

# SageMaker gives a stopped container 120 s after SIGTERM; locally a shorter grace keeps stops snappy.
STOP_GRACE_SECONDS = 20
POLL_SECONDS = 0.2
CHECKPOINT_SYNC_SECONDS = 10
# Managed spot training: a spot job is interrupted once, this many seconds into training (unset: never).
SPOT_INTERRUPTION_VARIABLE = "LOCAL_AWS_SPOT_INTERRUPTION_SECONDS"
FAILURE_REASON_MAX = 1024
TAIL_LINES = 10
SHM_BYTES = 1 << 30  # /dev/shm of each host, for DataLoader workers' tensors and semaphores
# The PyTorch DLC's working directory, where a ContainerEntrypoint starts.
IMAGE_WORKDIR = "/"


class JobFailure(Exception):
    """Ends the job as Failed with this message as its FailureReason."""


@dataclass
class Ending:
    kind: str  # completed, failed, stopped, max_runtime, max_wait, interrupted
    failure_reason: str | None = None


@dataclass
class HostProcess:
    host: str
    command: list[str]
    sandbox: Sandbox
    stream: LogStream
    reader: threading.Thread
    tail: collections.deque

    @property
    def process(self) -> subprocess.Popen:
        return self.sandbox.process


def start_training_job(job: TrainingJob, platform: Platform, account_id: str, region: str) -> threading.Thread:
    run = TrainingRun(job, platform, account_id, region)
    thread = threading.Thread(target=run.run, name=f"training-{job.name}", daemon=True)
    thread.start()
    return thread


class TrainingRun:
    def __init__(self, job: TrainingJob, platform: Platform, account_id: str, region: str):
        self.job = job
        self.platform = platform
        self.account_id = account_id
        self.region = region
        self.s3 = platform.client("s3", account_id, region)
        self.logs = platform.client("logs", account_id, region)
        self.root = platform.files(account_id, region) / "training" / job.name
        self.hosts = toolkit.host_names(job.instance_count)
        self.dirs = {host: toolkit.HostDirs(self.root / host) for host in self.hosts}
        spec = job.request["AlgorithmSpecification"]
        self.metrics = MetricParser(spec.get("MetricDefinitions", []))
        # A command of the job's own replaces the image's entrypoint (the toolkit): no script mode then.
        self.entrypoint = [*spec.get("ContainerEntrypoint", []), *spec.get("ContainerArguments", [])]
        self.framework, self.user_hyperparameters = toolkit.split_framework_params(
            toolkit.decode_hyperparameters(job.hyperparameters)
        )
        self.checkpoint_uri = job.request.get("CheckpointConfig", {}).get("S3Uri")
        self._checkpoint_uploads: dict[Path, tuple[float, int]] = {}
        self.spot = job.request.get("EnableManagedSpotTraining", False)
        self._interruption_after = positive_setting(SPOT_INTERRUPTION_VARIABLE, None) if self.spot else None
        self._interrupt_at: float | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.job.max_runtime_seconds
        try:
            self._prepare()
            self.job.advance("Downloading", "Downloading input data")
            self._download()
            self.job.advance("Training", "Training image download completed. Training in progress.")
            if self._interruption_after is not None:
                self._interrupt_at = time.monotonic() + self._interruption_after
            ending = self._train(deadline)
            while ending.kind == "interrupted":
                ending = self._resume_after_interruption(deadline)
            if ending.kind == "failed":
                self.job.finish("Failed", "Failed", "Training job failed", failure_reason=ending.failure_reason)
                return
            self.job.advance("Uploading", "Uploading generated training model")
            self._upload()
        except JobFailure as failure:
            self.job.finish("Failed", "Failed", "Training job failed", failure_reason=str(failure)[:FAILURE_REASON_MAX])
            return
        except Exception as error:
            if self.platform.supervisor.stopping.is_set():
                logger.info("training job %s ended by local_aws shutting down", self.job.name)
                return
            logger.exception("training job %s failed inside local_aws", self.job.name)
            self.job.finish("Failed", "Failed", "Training job failed",
                            failure_reason=f"InternalServerError: local_aws could not run the job: {error}"[:FAILURE_REASON_MAX])
            return
        finally:
            for scratch in ("downloads", "containers"):  # the hosts' /root and /tmp end with their instances
                shutil.rmtree(self.root / scratch, ignore_errors=True)
        if ending.kind == "completed":
            self.job.finish("Completed", "Completed", "Training job completed")
        elif ending.kind == "max_runtime":
            self.job.finish("Stopped", "MaxRuntimeExceeded",
                            "Training job stopped: it exceeded StoppingCondition.MaxRuntimeInSeconds")
        elif ending.kind == "max_wait":
            self.job.finish("Stopped", "MaxWaitTimeExceeded",
                            "Training job stopped: it exceeded StoppingCondition.MaxWaitTimeInSeconds")
        else:
            self.job.finish("Stopped", "Stopped", "Training job stopped")

    def _prepare(self) -> None:
        channels = [c["ChannelName"] for c in self.job.request.get("InputDataConfig", [])]
        data_config = toolkit.input_data_config(self.job.request.get("InputDataConfig", []))
        instance_type = self.job.request["ResourceConfig"]["InstanceType"]
        for host, dirs in self.dirs.items():
            dirs.create(channels)
            toolkit.write_config_files(
                dirs, self.job.hyperparameters, toolkit.resource_config(host, self.hosts, instance_type), data_config
            )

    # Downloading

    def _download(self) -> None:
        if not self.entrypoint:
            self._download_source_dir()
        for channel in self.job.request.get("InputDataConfig", []):
            self._download_channel(channel)
        if self.checkpoint_uri:
            self._download_prefix(self.checkpoint_uri, [dirs.checkpoints for dirs in self.dirs.values()])

    def _download_source_dir(self) -> None:
        program = self.framework.get(toolkit.PROGRAM_PARAM)
        source = self.framework.get(toolkit.SUBMIT_DIR_PARAM)
        if not program or not source:
            raise JobFailure(
                "AlgorithmError: the PyTorch container runs script mode: HyperParameters must name the entry point "
                f"({toolkit.PROGRAM_PARAM}) and the S3 tarball of the code ({toolkit.SUBMIT_DIR_PARAM})."
            )
        if not str(source).startswith("s3://"):
            raise JobFailure(f"ClientError: {toolkit.SUBMIT_DIR_PARAM} must be an s3:// URI, not {source!r}.")
        archive = self.root / "downloads" / "sourcedir.tar.gz"
        if not s3_files.object_exists(self.s3, source):
            raise JobFailure(f"ClientError: Could not download the source directory {source}: no such S3 object.")
        s3_files.download_uri(self.s3, source, archive)
        for dirs in self.dirs.values():
            s3_files.extract_tarball(archive, dirs.code)
        requirements = self.dirs[self.hosts[0]].code / "requirements.txt"
        if requirements.is_file():
            unmet = unmet_requirements(requirements)
            if unmet:
                raise JobFailure(
                    "AlgorithmError: requirements.txt asks for packages the local environment does not have "
                    f"(local_aws cannot install packages): {'; '.join(unmet)}"
                )

    def _download_channel(self, channel: dict) -> None:
        source = channel["DataSource"]["S3DataSource"]
        uri = source["S3Uri"]
        name = channel["ChannelName"]
        if source.get("S3DataDistributionType", "FullyReplicated") == "ShardedByS3Key":
            keys = self._keys_or_fail(uri)
            for index, host in enumerate(self.hosts):
                self._download_keys(uri, keys[index::len(self.hosts)], [self.dirs[host].channel(name)])
        else:
            self._download_prefix(uri, [dirs.channel(name) for dirs in self.dirs.values()], required=True)

    def _keys_or_fail(self, uri: str) -> list[str]:
        keys = sorted(key for key in s3_files.list_keys(self.s3, uri) if not key.endswith("/"))
        if not keys:
            bucket, _ = s3_files.parse_s3_uri(uri)
            raise JobFailure(
                f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure '
                f"that the bucket exists in the selected region ({self.region}), that objects exist under that S3 "
                f'prefix, and that the role "{self.job.request["RoleArn"]}" has "s3:ListBucket" permissions on '
                f'bucket "{bucket}".'
            )
        return keys

    def _download_prefix(self, uri: str, destinations: list[Path], required: bool = False) -> None:
        if required:
            keys = self._keys_or_fail(uri)
        else:
            keys = sorted(key for key in s3_files.list_keys(self.s3, uri) if not key.endswith("/"))
        self._download_keys(uri, keys, destinations)

    def _download_keys(self, uri: str, keys: list[str], destinations: list[Path]) -> None:
        """Each key once, then hard-linked into every other destination (hosts share nothing else)."""
        bucket, prefix = s3_files.parse_s3_uri(uri)
        s3_files.copy_objects_in_process(self.account_id, self.region, bucket, keys,
                                   lambda key: destinations[0] / s3_files.relative_key(prefix, key))
        for key in keys:
            relative = s3_files.relative_key(prefix, key)
            for destination in destinations[1:]:
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(destinations[0] / relative, target)

    # Training

    def _train(self, deadline: float) -> Ending:
        ensure_log_group(self.logs, TRAINING_LOG_GROUP)
        credentials = self._role_credentials()
        port = free_port()
        started = []
        ending = None
        try:
            for host in self.hosts:
                started.append(self._start_host(host, port, credentials))
            last_sync = time.monotonic()
            while ending is None:
                time.sleep(POLL_SECONDS)
                if self.platform.supervisor.stopping.is_set():
                    raise RuntimeError("local_aws is shutting down")
                for host in started:
                    host.stream.flush()
                ending = self._ending(started, deadline)
                if ending is None and self.checkpoint_uri and time.monotonic() - last_sync > CHECKPOINT_SYNC_SECONDS:
                    self._sync_checkpoints()
                    last_sync = time.monotonic()
        finally:
            for host in started:
                host.sandbox.terminate(STOP_GRACE_SECONDS)
            for host in started:
                host.reader.join()
                host.stream.flush()
        return ending

    def _resume_after_interruption(self, deadline: float) -> Ending:
        """A spot interruption: the hosts are gone (their checkpoints synced to S3 first, as SageMaker
        copies /opt/ml/checkpoints), new ones start with the checkpoints downloaded, and training goes on."""
        interrupted = time.monotonic()
        if self.checkpoint_uri:
            self._sync_checkpoints()
        self.job.advance("Interrupted", "Training job interrupted: the spot instances were reclaimed "
                                        f"({SPOT_INTERRUPTION_VARIABLE})")
        self.job.advance("Starting", "Launching requested ML instances after the spot interruption")
        for dirs in self.dirs.values():
            shutil.rmtree(dirs.checkpoints, ignore_errors=True)  # new instances: nothing local survives
            dirs.checkpoints.mkdir(parents=True)
        if self.checkpoint_uri:
            self._checkpoint_uploads.clear()
            self._download_prefix(self.checkpoint_uri, [dirs.checkpoints for dirs in self.dirs.values()])
        self.job.add_interrupted_seconds(time.monotonic() - interrupted)
        self.job.advance("Training", "Training resumed after the spot interruption")
        return self._train(deadline)

    def _ending(self, started: list[HostProcess], deadline: float) -> Ending | None:
        for host in started:
            code = host.process.poll()
            if code not in (None, 0):
                return Ending("failed", self._failure_reason(host, code))
        if all(host.process.poll() == 0 for host in started):
            return Ending("completed")
        if self.job.stop_requested.is_set():
            return Ending("stopped")
        if time.monotonic() > deadline:
            return Ending("max_runtime")
        if self.job.max_wait_deadline is not None and time.monotonic() > self.job.max_wait_deadline:
            return Ending("max_wait")
        if self._interrupt_at is not None and time.monotonic() > self._interrupt_at:
            self._interrupt_at = None  # once
            return Ending("interrupted")
        return None

    def _role_credentials(self) -> dict[str, str]:
        """The script acts as the job's execution role, as on SageMaker: credentials from AssumeRole,
        which moto files under the role's account."""
        try:
            return assume_role_for(self.platform, self.account_id, self.region, self.job.request["RoleArn"],
                                   SAGEMAKER_PRINCIPAL, "SageMaker")
        except RoleNotAssumable as refused:
            raise JobFailure(f"ClientError: Could not assume role {self.job.request['RoleArn']}: {refused}")

    def _start_host(self, host: str, master_port: int, credentials: dict[str, str]) -> HostProcess:
        if self.entrypoint:
            command, cwd = self.entrypoint, IMAGE_WORKDIR
        else:
            program = str(self.framework[toolkit.PROGRAM_PARAM])
            command = [sys.executable, program, *toolkit.to_cmd_args(self.user_hyperparameters)]
            cwd = str(toolkit.CONTAINER_DIRS.code)
        try:  # the supervisor refuses a new sandbox once local AWS is shutting down
            sandbox = self.platform.supervisor.start_sandbox(
                self._container(host), command, {**self._host_env(host, master_port), **credentials}, cwd=cwd,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except ProgramNotRunnable as refused:
            what = "ContainerEntrypoint" if self.entrypoint else "the training toolkit"
            raise JobFailure(f"ClientError: The training container on {host} could not start: {what}: {refused}")
        stream = LogStream(self.logs, TRAINING_LOG_GROUP, f"{self.job.name}/{host}-{int(time.time())}")
        tail = collections.deque(maxlen=TAIL_LINES)
        reader = threading.Thread(
            target=self._read_output, args=(sandbox.process, stream, tail), name=f"{self.job.name}-{host}-log",
            daemon=True,
        )
        reader.start()
        return HostProcess(host, command, sandbox, stream, reader, tail)

    def _container(self, host: str) -> SandboxSpec:
        """A host's sandbox, new at each start (a spot interruption brings new instances): its stand-in as
        `/opt/ml`, a writable `/root` and `/tmp` of its own, and host names that resolve as in SageMaker's
        network (to the loopback interface, which every host shares here)."""
        place = self.root / "containers" / host
        shutil.rmtree(place, ignore_errors=True)
        for directory in ("home", "tmp"):
            (place / directory).mkdir(parents=True)
        hosts_file = place / "hosts"
        hosts_file.write_text(Path("/etc/hosts").read_text() + f"\n127.0.0.1\t{' '.join(self.hosts)}\n")
        mounts = (Mount(self.dirs[host].root, str(toolkit.CONTAINER_DIRS.root), writable=True),
                  Mount(place / "home", "/root", writable=True), Mount(hosts_file, "/etc/hosts"))
        return SandboxSpec(name=host, root=place / "root", mounts=mounts, tmp_dir=place / "tmp", shm_bytes=SHM_BYTES)

    def _host_env(self, host: str, master_port: int) -> dict[str, str]:
        resources = toolkit.resource_config(host, self.hosts, self.job.request["ResourceConfig"]["InstanceType"])
        data_config = toolkit.input_data_config(self.job.request.get("InputDataConfig", []))
        # Each host stands for a whole instance; on one machine they share its cores.
        cpus = max(1, (os.cpu_count() or 1) // len(self.hosts))
        return {
            # The image's environment, its Python (here local AWS's) first; nothing of the edge's own, so
            # the script acts only as the role: no credentials of the edge's user or of local AWS.
            "PATH": host_python_path(),
            "HOME": "/root",
            "LANG": "C.UTF-8",
            **self.job.request.get("Environment", {}),
            **toolkit.training_environment(
                job_name=self.job.name, dirs=toolkit.CONTAINER_DIRS, hyperparameters=self.job.hyperparameters,
                resources=resources, data_config=data_config, num_cpus=cpus, region=self.region,
            ),
            "TRAINING_JOB_ARN": self.job.arn,
            # Host names like algo-1 resolve only inside SageMaker's network; every host is local here.
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(master_port),
            "GLOO_SOCKET_IFNAME": "lo",
            "OMP_NUM_THREADS": str(cpus),
            # torch lets MKL_NUM_THREADS override OMP_NUM_THREADS: one left in the edge's own
            # environment must not size the job's threads, one in the job's Environment may.
            "MKL_NUM_THREADS": self.job.request.get("Environment", {}).get("MKL_NUM_THREADS", str(cpus)),
            "PYTHONUNBUFFERED": "1",
            "AWS_ENDPOINT_URL": self.platform.url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def _read_output(self, process: subprocess.Popen, stream: LogStream, tail: collections.deque) -> None:
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            stream.write(line)
            tail.append(line)
            for name, value in self.metrics.scan(line):
                self.job.record_metric(name, value)
        process.stdout.close()

    def _failure_reason(self, host: HostProcess, code: int) -> str:
        failure_file = self.dirs[host.host].failure_file
        if failure_file.is_file() and failure_file.read_text().strip():
            return f"AlgorithmError: {failure_file.read_text().strip()}"[:FAILURE_REASON_MAX]
        if self.entrypoint:  # no toolkit to quote the log: SageMaker reports the container's exit alone
            return f"AlgorithmError: , exit code: {code}"
        host.reader.join(timeout=5)
        message = "\n".join(host.tail)
        command = " ".join(host.command)
        reason = (f'AlgorithmError: ExecuteUserScriptError:\nExitCode {code}\nErrorMessage "{message}"\n'
                  f'Command "{command}", exit code: {code}')
        if len(reason) <= FAILURE_REASON_MAX:
            return reason
        # Keep the end of the log, which names the error, rather than the start.
        room = FAILURE_REASON_MAX - (len(reason) - len(message)) - 3
        return reason.replace(message, "..." + message[-room:]) if room > 0 else reason[:FAILURE_REASON_MAX]

    # Uploading

    def _upload(self) -> None:
        prefix = self.job.model_artifacts.removesuffix("/model.tar.gz")
        first = self.dirs[self.hosts[0]]
        model_archive = self.root / "model.tar.gz"
        s3_files.tar_directory(first.model, model_archive)
        kms_key_id = self.job.request["OutputDataConfig"].get("KmsKeyId")
        s3_files.upload(self.s3, model_archive, f"{prefix}/model.tar.gz", kms_key_id)
        output_archive = self.root / "output.tar.gz"
        s3_files.tar_directory(first.output_data, output_archive)
        s3_files.upload(self.s3, output_archive, f"{prefix}/output.tar.gz", kms_key_id)
        if self.checkpoint_uri:
            self._sync_checkpoints()

    def _sync_checkpoints(self) -> None:
        base = self.checkpoint_uri.rstrip("/")
        for dirs in self.dirs.values():
            for path in sorted(dirs.checkpoints.rglob("*")):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # a checkpoint being replaced as we look
                    continue
                if not path.is_file() or self._checkpoint_uploads.get(path) == (stat.st_mtime, stat.st_size):
                    continue
                try:
                    s3_files.upload(self.s3, path, f"{base}/{path.relative_to(dirs.checkpoints).as_posix()}")
                except FileNotFoundError:
                    continue
                self._checkpoint_uploads[path] = (stat.st_mtime, stat.st_size)
