"""Where the pipeline's data lives in S3: every key and URI a run reads or writes, in one place.

    s3://<bucket>/<prefix>/data/<dataset version>/             the dataset, the training channel
    s3://<bucket>/<prefix>/data/<dataset version>.manifest.json  its manifest (beside the channel,
                                                                 so SageMaker does not copy it)
    s3://<bucket>/<prefix>/code/<run>/sourcedir.tar.gz          model_code/, the jobs' script-mode source
    s3://<bucket>/<prefix>/tuning/, training/                   the jobs' output (model.tar.gz, output.tar.gz)
    s3://<bucket>/<prefix>/ec2-training/<job>/output/           the EC2 backend's output, in the same layout
    s3://<bucket>/<prefix>/checkpoints/<training job>/          spot training's checkpoints
    s3://<bucket>/<prefix>/debugger/, profiler/                 Debugger and Profiler output, when on
    s3://<bucket>/<prefix>/reports/<run>.md                     the run's report
"""

from __future__ import annotations

from dataclasses import dataclass

from dog_breed.config import PipelineConfig


@dataclass(frozen=True)
class DataLayout:
    bucket: str
    prefix: str
    dataset_version: str
    run_tag: str

    @classmethod
    def for_run(cls, config: PipelineConfig, run_tag: str) -> DataLayout:
        return cls(config.bucket, config.s3_prefix, config.dataset_version, run_tag)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    @property
    def root_uri(self) -> str:
        return self.uri(self.prefix)

    @property
    def data_prefix(self) -> str:
        """The dataset version's folder: the training channel SageMaker mounts as SM_CHANNEL_TRAINING."""
        return f"{self.prefix}/data/{self.dataset_version}/"

    @property
    def data_uri(self) -> str:
        return self.uri(self.data_prefix)

    @property
    def manifest_key(self) -> str:
        return f"{self.prefix}/data/{self.dataset_version}.manifest.json"

    @property
    def code_key(self) -> str:
        return f"{self.prefix}/code/{self.run_tag}/sourcedir.tar.gz"

    @property
    def code_uri(self) -> str:
        return self.uri(self.code_key)

    @property
    def report_key(self) -> str:
        return f"{self.prefix}/reports/{self.run_tag}.md"

    @property
    def report_uri(self) -> str:
        return self.uri(self.report_key)

    @property
    def tuning_output_uri(self) -> str:
        return f"{self.root_uri}/tuning"

    @property
    def training_output_uri(self) -> str:
        return f"{self.root_uri}/training"

    @property
    def ec2_training_output_uri(self) -> str:
        return f"{self.root_uri}/ec2-training"

    @property
    def debugger_uri(self) -> str:
        return f"{self.root_uri}/debugger"

    @property
    def profiler_uri(self) -> str:
        return f"{self.root_uri}/profiler"

    def checkpoint_uri(self, training_job: str) -> str:
        # Keyed by the run's planned job name, not the attempt: a retried job resumes from the
        # interrupted one's epochs.
        return f"{self.root_uri}/checkpoints/{training_job}/"
