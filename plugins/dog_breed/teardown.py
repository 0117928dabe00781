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


def _project_names(pages: Any, list_key: str, name_key: str, project: str) -> list[str]:
    prefix = f"{project}-"
    return sorted(item[name_key] for page in pages for item in page[list_key] if item[name_key].startswith(prefix))


def delete_endpoint_configs(sagemaker: Any, project: str) -> list[str]:
    pages = sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=f"{project}-")
    names = _project_names(pages, "EndpointConfigs", "EndpointConfigName", project)
    for name in names:
        try:
            sagemaker.delete_endpoint_config(EndpointConfigName=name)
        except ClientError as error:
            if not is_missing(error):
                raise
        log.info("deleted endpoint config %s", name)
    return names


def delete_models(sagemaker: Any, project: str) -> list[str]:
    pages = sagemaker.get_paginator("list_models").paginate(NameContains=f"{project}-")
    names = _project_names(pages, "Models", "ModelName", project)
    for name in names:
        try:
            sagemaker.delete_model(ModelName=name)
        except ClientError as error:
            if not is_missing(error):
                raise
        log.info("deleted model %s", name)
    return names


def delete_alarm(cloudwatch: Any, alarm_name: str) -> None:
    # DeleteAlarms ignores names that do not exist.
    cloudwatch.delete_alarms(AlarmNames=[alarm_name])
    log.info("deleted alarm %s", alarm_name)
