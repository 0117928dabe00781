"""Deleting what costs money or grants access: the endpoint's scaling, the endpoint, then the project's
endpoint configs and models, and the endpoint's rollback alarm; the Lambda front door (its versions, alias,
URL and concurrency go with it) and its role; any EC2 training instance the pipeline launched that is still
there. The model registry and the S3 data stay: they are the project's history.

Every function is safe to run again: what is already gone is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from dog_breed.aws_errors import is_missing

log = logging.getLogger(__name__)

WAIT_DELAY_SECONDS = 5
WAIT_MAX_ATTEMPTS = 360


def _deleted(delete: Callable[[], Any], what: str) -> bool:
    """Whether `delete()` deleted `what`; False when it was already gone."""
    try:
        delete()
    except ClientError as error:
        if is_missing(error):
            log.info("%s does not exist", what)
            return False
        raise
    return True


def delete_endpoint(sagemaker: Any, endpoint_name: str) -> bool:
    """Delete the endpoint and wait until it is gone; False if there was none."""
    if not _deleted(lambda: sagemaker.delete_endpoint(EndpointName=endpoint_name), f"endpoint {endpoint_name}"):
        return False
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
        if _deleted(lambda: getattr(sagemaker, f"delete_{kind}")(**{name_key: name}), f"{kind} {name}"):
            log.info("deleted %s %s", kind.replace("_", " "), name)
    return names


def delete_alarm(cloudwatch: Any, alarm_name: str) -> None:
    # DeleteAlarms ignores names that do not exist.
    cloudwatch.delete_alarms(AlarmNames=[alarm_name])
    log.info("deleted alarm %s", alarm_name)


def deregister_scaling(autoscaling: Any, endpoint_name: str) -> list[str]:
    """Deregister every variant of the endpoint from Application Auto Scaling (its policies go with it)."""
    prefix = f"endpoint/{endpoint_name}/variant/"
    pages = autoscaling.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker")
    targets = [t for page in pages for t in page["ScalableTargets"] if t["ResourceId"].startswith(prefix)]
    for target in targets:
        autoscaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=target["ResourceId"],
                                               ScalableDimension=target["ScalableDimension"])
        log.info("deregistered %s from Application Auto Scaling", target["ResourceId"])
    return sorted(t["ResourceId"] for t in targets)


def delete_function(lambda_client: Any, function_name: str) -> bool:
    """Delete the function with its versions, aliases, URLs and concurrency settings; False if there was none."""
    if not _deleted(lambda: lambda_client.delete_function(FunctionName=function_name), f"function {function_name}"):
        return False
    log.info("deleted function %s", function_name)
    return True


def delete_role(iam: Any, role_name: str) -> bool:
    """Delete a role the pipeline made, with its inline and attached policies; False if there was none."""
    try:
        names = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name)
                 for n in page["PolicyNames"]]
    except ClientError as error:
        if is_missing(error):
            log.info("role %s does not exist", role_name)
            return False
        raise
    for name in names:
        iam.delete_role_policy(RoleName=role_name, PolicyName=name)
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role_name, PolicyArn=attached["PolicyArn"])
    for profile in iam.list_instance_profiles_for_role(RoleName=role_name)["InstanceProfiles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=role_name)
    iam.delete_role(RoleName=role_name)
    log.info("deleted role %s", role_name)
    return True


def terminate_training_instances(ec2: Any, project: str, job_tag: str) -> list[str]:
    """Terminate every instance still up that the pipeline launched for the project's EC2 training."""
    pages = ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": f"tag:{job_tag}", "Values": [f"{project}-*"]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])
    ids = sorted(i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"])
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
        log.info("terminated training instances %s", ids)
    return ids
