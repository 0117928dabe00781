"""Resource names: deterministic per run, distinct across runs, within SageMaker's limits."""

import re

import pytest

from dog_breed.validation import PROJECT_MAX_LEN
from dog_breed.naming import MAX_ATTEMPTS, attempt_names, resource_names

SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
RUN = "scheduled__2026-11-22T00:00:00+00:00"


def test_same_run_same_names_other_run_other_names():
    first = resource_names("dog-breed", RUN)
    assert first == resource_names("dog-breed", RUN)
    other = resource_names("dog-breed", "manual__2026-11-25T06:00:00+00:00")
    assert other.tuning_job != first.tuning_job and other.training_job != first.training_job


def test_longest_project_prefix_fits_every_limit_with_every_attempt():
    names = resource_names("p" * PROJECT_MAX_LEN, RUN)
    tuning = list(attempt_names(names.tuning_job, 32))
    training = list(attempt_names(names.training_job, 63))
    assert len(tuning) == MAX_ATTEMPTS and all(len(n) <= 32 and SAGEMAKER_NAME.match(n) for n in tuning)
    assert all(len(n) <= 63 and SAGEMAKER_NAME.match(n) for n in training)
    assert tuning[0] == names.tuning_job and tuning[1] == f"{names.tuning_job}-2"


def test_a_name_over_the_limit_is_refused():
    with pytest.raises(ValueError, match="breaks SageMaker's rule"):
        next(attempt_names("x" * 33, 32))
