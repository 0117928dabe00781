"""What the SageMaker training toolkit does inside a training container, as pure functions: the
per-host `/opt/ml` tree, the config files, the user's CLI arguments and the `SM_*` environment.

Mirrors `sagemaker_training.environment.Environment` and `sagemaker_training.mapping`: every
hyperparameter value is JSON-decoded when it can be (the SageMaker Python SDK JSON-encodes them),
`sagemaker_*` hyperparameters are framework parameters and never reach the script's arguments,
and arguments are `--name value` in sorted name order.
"""

import json
from dataclasses import dataclass
from pathlib import Path

SAGEMAKER_PREFIX = "sagemaker_"
PROGRAM_PARAM = "sagemaker_program"
SUBMIT_DIR_PARAM = "sagemaker_submit_directory"
REGION_PARAM = "sagemaker_region"
LOG_LEVEL_PARAM = "sagemaker_container_log_level"
# Framework parameters the toolkit consumes itself; every other `sagemaker_*` one is "additional".
TOOLKIT_PARAMS = {
    PROGRAM_PARAM,
    SUBMIT_DIR_PARAM,
    REGION_PARAM,
    LOG_LEVEL_PARAM,
    "sagemaker_job_name",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_s3_output",
}
INSTANCE_GROUP = "homogeneousCluster"
PYTORCH_FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"


@dataclass(frozen=True)
class HostDirs:
    """`/opt/ml` as a training container lays it out, under `root`: a host's stand-in in local AWS's
    state, or `/opt/ml` itself (CONTAINER_DIRS), where the stand-in is mounted."""

    root: Path

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def input_config(self) -> Path:
        return self.input / "config"

    def channel(self, name: str) -> Path:
        return self.input / "data" / name

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.output / "data"

    @property
    def output_intermediate(self) -> Path:
        return self.output / "intermediate"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def failure_file(self) -> Path:
        return self.output / "failure"

    def create(self, channels: list[str]) -> None:
        for path in (self.input_config, self.model, self.output_data, self.output_intermediate,
                     self.checkpoints, self.code):
            path.mkdir(parents=True, exist_ok=True)
        for name in channels:
            self.channel(name).mkdir(parents=True, exist_ok=True)


# What every training container sees: its host's stand-in mounted here.
CONTAINER_DIRS = HostDirs(Path("/opt/ml"))


def host_names(instance_count: int) -> list[str]:
    return [f"algo-{index}" for index in range(1, instance_count + 1)]


def decode_hyperparameters(hyperparameters: dict[str, str]) -> dict:
    decoded = {}
    for name, value in hyperparameters.items():
        try:
            decoded[name] = json.loads(value)
        except (TypeError, ValueError):
            decoded[name] = value
    return decoded


def split_framework_params(decoded: dict) -> tuple[dict, dict]:
    """(framework `sagemaker_*` parameters, the user's hyperparameters)."""
    framework = {k: v for k, v in decoded.items() if k.startswith(SAGEMAKER_PREFIX)}
    user = {k: v for k, v in decoded.items() if not k.startswith(SAGEMAKER_PREFIX)}
    return framework, user


def to_cmd_args(user_hyperparameters: dict) -> list[str]:
    args = []
    for name in sorted(user_hyperparameters):
        value = user_hyperparameters[name]
        args.append(f"--{name}" if len(name) > 1 else f"-{name}")
        if isinstance(value, dict):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def resource_config(current_host: str, hosts: list[str], instance_type: str) -> dict:
    return {
        "current_host": current_host,
        "current_instance_type": instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": INSTANCE_GROUP, "instance_type": instance_type, "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


def input_data_config(channels: list[dict]) -> dict:
    """`inputdataconfig.json`: per channel, what SageMaker writes for it."""
    config = {}
    for channel in channels:
        s3 = channel["DataSource"].get("S3DataSource", {})
        entry = {
            "TrainingInputMode": channel.get("InputMode", "File"),
            "S3DistributionType": s3.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if "ContentType" in channel:
            entry["ContentType"] = channel["ContentType"]
        config[channel["ChannelName"]] = entry
    return config


def write_config_files(dirs: HostDirs, hyperparameters: dict[str, str], resources: dict,
                       data_config: dict) -> None:
    # hyperparameters.json holds the strings exactly as they arrived in CreateTrainingJob.
    for name, content in (("hyperparameters.json", hyperparameters), ("resourceconfig.json", resources),
                          ("inputdataconfig.json", data_config)):
        (dirs.input_config / name).write_text(json.dumps(content))


def training_environment(*, job_name: str, dirs: HostDirs, hyperparameters: dict[str, str],
                         resources: dict, data_config: dict, num_cpus: int, region: str) -> dict[str, str]:
    """The `SM_*` variables (plus `TRAINING_JOB_NAME`) the toolkit exports for one host."""
    framework, user = split_framework_params(decode_hyperparameters(hyperparameters))
    hosts = resources["hosts"]
    current_host = resources["current_host"]
    program = framework.get(PROGRAM_PARAM)
    channel_dirs = {name: str(dirs.channel(name)) for name in data_config}
    additional = {k: v for k, v in framework.items() if k not in TOOLKIT_PARAMS}
    env = {
        "hosts": hosts,
        "network_interface_name": resources["network_interface_name"],
        "hps": user,
        "user_entry_point": program,
        "framework_params": additional,
        "resource_config": resources,
        "input_data_config": data_config,
        "output_data_dir": str(dirs.output_data),
        "channels": sorted(channel_dirs),
        "current_host": current_host,
        "current_instance_type": resources["current_instance_type"],
        "current_instance_group": INSTANCE_GROUP,
        "current_instance_group_hosts": hosts,
        "instance_groups": [INSTANCE_GROUP],
        "instance_groups_dict": {g["instance_group_name"]: g for g in resources["instance_groups"]},
        "distribution_instance_groups": [],
        "is_hetero": False,
        "module_name": program[:-3] if program and program.endswith(".py") else program,
        "log_level": framework.get(LOG_LEVEL_PARAM, 20),
        "framework_module": PYTORCH_FRAMEWORK_MODULE,
        "input_dir": str(dirs.input),
        "input_config_dir": str(dirs.input_config),
        "output_dir": str(dirs.output),
        "num_cpus": num_cpus,
        "num_gpus": 0,
        "num_neurons": 0,
        "model_dir": str(dirs.model),
        "module_dir": str(framework.get(SUBMIT_DIR_PARAM, dirs.code)),
        "user_args": to_cmd_args(user),
        "output_intermediate_dir": str(dirs.output_intermediate),
    }
    env["training_env"] = {
        **{k: v for k, v in env.items() if k not in ("hps", "framework_params", "channels")},
        "hyperparameters": user,
        "additional_framework_parameters": additional,
        "channel_input_dirs": channel_dirs,
        "job_name": job_name,
        "master_hostname": hosts[0],
        "is_master": current_host == hosts[0],
        "distribution_hosts": [],
    }
    for name, path in channel_dirs.items():
        env[f"channel_{name}"] = path
    for name, value in user.items():
        env[f"hp_{name}"] = value
    exported = {f"SM_{key.upper()}": _env_value(value) for key, value in env.items()}
    exported["TRAINING_JOB_NAME"] = job_name
    exported["SAGEMAKER_REGION"] = framework.get(REGION_PARAM, region)
    exported["CURRENT_HOST"] = current_host
    return exported


def _env_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
