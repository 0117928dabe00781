"""Deleting what costs money: the endpoint, then the project's endpoint configs and models, and the
endpoint's rollback alarm. The model registry and the S3 data stay: they are the project's history.

Every function is safe to run again: what is already gone is skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from dog_breed.aws_errors import is_missing

log = logging.getLogger(__name__)

WAIT_DELAY_SECONDS = 5
WAIT_MAX_ATTEMPTS = 360


def delete_endpoint(sagemaker: Any, endpoint_name: str) -> bool:
    """Delete the endpoint and wait until it is gone; False if there was none."""
    try:
        sagemaker.delete_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if is_missing(error):
            log.info("endpoint %s does not exist", endpoint_name)
            return False
        raise
    sagemaker.get_waiter("endpoint_deleted").wait(
        EndpointName=endpoint_name, WaiterConfig={"Delay": WAIT_DELAY_SECONDS, "MaxAttempts": WAIT_MAX_ATTEMPTS})
    log.info("deleted endpoint %s", endpoint_name)
    return True


def delete_endpoint_configs(sagemaker: Any, project: str) -> list[str]:
    return _delete_project_resources(sagemaker, project, "endpoint_config", "EndpointConfigs", "EndpointConfigName")


def delete_models(sagemaker: Any, project: str) -> list[str]:
    return _delete_project_resources(sagemaker, project, "model", "Models", "ModelName")


def _delete_project_resources(sagemaker: Any, project: str, kind: str, list_key: str, name_key: str) -> list[str]:
    """Delete every resource of `kind` (`model`: ListModels, DeleteModel) whose name starts with the
    project's prefix; returns their names. One deleted meanwhile by someone else is no error."""
    prefix = f"{project}-"
    pages = sagemaker.get_paginator(f"list_{kind}s").paginate(NameContains=prefix)
    names = sorted(item[name_key] for page in pages for item in page[list_key] if item[name_key].startswith(prefix))
    for name in names:
        try:
            getattr(sagemaker, f"delete_{kind}")(**{name_key: name})
        except ClientError as error:
            if not is_missing(error):
                raise
        log.info("deleted %s %s", kind.replace("_", " "), name)
    return names


def delete_alarm(cloudwatch: Any, alarm_name: str) -> None:
    # DeleteAlarms ignores names that do not exist.
    cloudwatch.delete_alarms(AlarmNames=[alarm_name])
    log.info("deleted alarm %s", alarm_name)
