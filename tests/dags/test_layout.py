"""Where a run's data lives in S3: one layout, keyed by the prefix, the dataset version and the run."""

from dog_breed.config import PipelineConfig
from dog_breed.environment import profile_defaults
from dog_breed.layout import DataLayout
from dog_breed.steps import validate_config

RUN = "manual__2026-11-25T06:00:00+00:00"


def test_every_key_of_a_run():
    layout = DataLayout(bucket="b", prefix="team/dog", dataset_version="v1", run_tag="0123abcd")
    assert layout.data_uri == "s3://b/team/dog/data/v1/"
    assert layout.manifest_key == "team/dog/data/v1.manifest.json"
    assert not layout.manifest_key.startswith(layout.data_prefix), "SageMaker would copy it to the instances"
    assert layout.code_uri == "s3://b/team/dog/code/0123abcd/sourcedir.tar.gz"
    assert layout.report_uri == "s3://b/team/dog/reports/0123abcd.md"
    assert layout.tuning_output_uri == "s3://b/team/dog/tuning"
    assert layout.training_output_uri == "s3://b/team/dog/training"
    assert layout.checkpoint_uri("dog-train-0123abcd") == "s3://b/team/dog/checkpoints/dog-train-0123abcd/"
    assert (layout.debugger_uri, layout.profiler_uri) == ("s3://b/team/dog/debugger", "s3://b/team/dog/profiler")


def test_the_rendered_requests_read_and_write_where_the_layout_says():
    params = {**profile_defaults("local"), "use_spot_instances": True, "enable_debugger": True}
    plan = validate_config(params=params, run_id=RUN)
    layout = DataLayout.for_run(PipelineConfig(**plan["config"]), plan["names"]["run_tag"])
    training, definition = plan["training"], plan["tuning"]["TrainingJobDefinition"]
    for request in (training, definition):
        assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == layout.data_uri
    assert training["HyperParameters"]["sagemaker_submit_directory"] == layout.code_uri
    assert definition["StaticHyperParameters"]["sagemaker_submit_directory"] == layout.code_uri
    assert training["OutputDataConfig"]["S3OutputPath"] == layout.training_output_uri
    assert definition["OutputDataConfig"]["S3OutputPath"] == layout.tuning_output_uri
    assert training["CheckpointConfig"]["S3Uri"] == layout.checkpoint_uri(training["TrainingJobName"])
    assert training["DebugHookConfig"]["S3OutputPath"] == layout.debugger_uri
