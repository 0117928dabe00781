"""What a deployment of the DAGs says through its environment, read at one moment (when a DAG file is
parsed: environment variables, unlike Airflow Variables, cost no database or network call):

- `DOG_BREED_PROFILE`: the profile whose defaults the trigger form shows (`aws`, the default, or `local`);
- `DOG_BREED_DEFAULTS`: a JSON object changing single defaults of that profile, such as the bucket and
  the SageMaker role a scheduled run on AWS needs;
- `DOG_BREED_LOCAL_DATASET_URL`: the `local` profile's dataset (default: the sample zip under `build/`);
- `DOG_BREED_SCHEDULE`: the pipeline's schedule, a cron expression or preset (default `@weekly`), or
  `none` for manual runs only.

A bad value raises `ConfigError` naming the variable, so the DAG file fails to import with it named.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dog_breed.config import ConfigError, PipelineConfig
from dog_breed.profiles import PROFILES

PROFILE_ENV = "DOG_BREED_PROFILE"
DEFAULTS_ENV = "DOG_BREED_DEFAULTS"
LOCAL_DATASET_ENV = "DOG_BREED_LOCAL_DATASET_URL"
SCHEDULE_ENV = "DOG_BREED_SCHEDULE"
DEFAULT_PROFILE = "aws"
DEFAULT_SCHEDULE = "@weekly"


@dataclass(frozen=True)
class DeploymentSettings:
    profile: str = DEFAULT_PROFILE
    overrides: dict[str, Any] = field(default_factory=dict)
    local_dataset_url: str | None = None
    schedule: str | None = DEFAULT_SCHEDULE  # None: manual runs only

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> DeploymentSettings:
        profile = environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        _check_profile(profile)
        schedule = environ.get(SCHEDULE_ENV) or DEFAULT_SCHEDULE
        return cls(profile=profile, overrides=_overrides(environ.get(DEFAULTS_ENV, "")),
                   local_dataset_url=environ.get(LOCAL_DATASET_ENV) or None,
                   schedule=None if schedule.lower() == "none" else schedule)

    def defaults(self, profile: str | None = None) -> dict[str, Any]:
        """The defaults of `profile` (this deployment's by default) with this deployment's changes; values
        are checked when a run validates its parameters."""
        name = profile or self.profile
        _check_profile(name)
        defaults = dict(PROFILES[name])
        if name == "local" and self.local_dataset_url:
            defaults["dataset_url"] = self.local_dataset_url
        defaults.update(self.overrides)
        return {key: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
                for key, v in defaults.items()}


def profile_defaults(profile: str | None = None) -> dict[str, Any]:
    """The defaults of `profile` (or of $DOG_BREED_PROFILE) as this process's environment changes them."""
    return DeploymentSettings.from_environment().defaults(profile)


def _check_profile(name: str) -> None:
    if name not in PROFILES:
        raise ConfigError([f"{PROFILE_ENV}: {name!r} is not one of {', '.join(PROFILES)}"])


def _overrides(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError([f"{DEFAULTS_ENV}: not valid JSON ({error})"]) from error
    if not isinstance(overrides, dict):
        raise ConfigError([f"{DEFAULTS_ENV}: must be a JSON object of parameter names and values"])
    known = {f.name for f in dataclasses.fields(PipelineConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError([f"{DEFAULTS_ENV}: unknown parameters {unknown}"])
    return overrides
