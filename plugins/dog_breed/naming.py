"""Resource names: derived from the project prefix and the run, within SageMaker's limits.

Every name is a pure function of (project, run id), so clearing and re-running a task asks for the same
resource again instead of making a new one. When a job of that name already failed (SageMaker never
reuses a job name), `attempt_names` yields the next deterministic candidates: `<name>-2`, `<name>-3`, ...
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from dog_breed.validation import NAME_MAX_LEN, SAGEMAKER_NAME

TUNING_JOB_MAX_LEN = 32
MAX_ATTEMPTS = 9
RUN_TAG_LEN = 8


def run_tag(run_id: str) -> str:
    """A short, stable, name-safe digest of an Airflow run id (run ids hold ':' and '+')."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:RUN_TAG_LEN]


@dataclass(frozen=True)
class ResourceNames:
    run_tag: str
    tuning_job: str
    training_job: str
    ec2_training_job: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def resource_names(project: str, run_id: str) -> ResourceNames:
    tag = run_tag(run_id)
    names = ResourceNames(
        run_tag=tag,
        tuning_job=f"{project}-hpo-{tag}",
        training_job=f"{project}-train-{tag}",
        ec2_training_job=f"{project}-ec2-{tag}",
    )
    _check(names.tuning_job, TUNING_JOB_MAX_LEN)
    _check(names.training_job, NAME_MAX_LEN)
    _check(names.ec2_training_job, NAME_MAX_LEN)
    return names


def attempt_names(base: str, max_len: int) -> Iterator[str]:
    """`base`, then `base-2` ... `base-9`: the names a job may take when earlier attempts failed."""
    _check(base, max_len)
    yield base
    for attempt in range(2, MAX_ATTEMPTS + 1):
        yield _check(f"{base}-{attempt}", max_len)


def _check(name: str, max_len: int) -> str:
    # The config validator bounds the project prefix so that this only fires on a programming error.
    if len(name) > max_len or not SAGEMAKER_NAME.match(name):
        raise ValueError(f"resource name {name!r} breaks SageMaker's rule (≤ {max_len} characters, "
                         "letters, digits and inner hyphens)")
    return name
