"""What IAM evaluates for each SageMaker action local AWS implements: the action `sagemaker:<Action>` on the
resource the request names (the Service Authorization Reference's resource type for the action), and
`iam:PassRole` on every role the request hands to SageMaker, as AWS checks both.

Every implemented action must be in `RESOURCE_MEMBER`: an action missing from it is refused, never let
through unevaluated (a test holds the table to the implemented actions).
"""

from local_aws.exceptions import AccessDeniedException
from local_aws.routing import action_authorizer
from local_aws.sagemaker.resources import sagemaker_arn

ANY = "*"

# The member that names the action's resource (None: the action acts on no one resource, `*`).
RESOURCE_MEMBER = {
    "AddTags": "ResourceArn", "DeleteTags": "ResourceArn", "ListTags": "ResourceArn",
    "CreateEndpoint": "EndpointName", "DescribeEndpoint": "EndpointName", "DeleteEndpoint": "EndpointName",
    "UpdateEndpoint": "EndpointName", "UpdateEndpointWeightsAndCapacities": "EndpointName",
    "CreateEndpointConfig": "EndpointConfigName", "DescribeEndpointConfig": "EndpointConfigName",
    "DeleteEndpointConfig": "EndpointConfigName",
    "CreateHyperParameterTuningJob": "HyperParameterTuningJobName",
    "DescribeHyperParameterTuningJob": "HyperParameterTuningJobName",
    "StopHyperParameterTuningJob": "HyperParameterTuningJobName",
    "ListTrainingJobsForHyperParameterTuningJob": "HyperParameterTuningJobName",
    "CreateModel": "ModelName", "DescribeModel": "ModelName", "DeleteModel": "ModelName",
    "CreateModelPackageGroup": "ModelPackageGroupName", "DescribeModelPackageGroup": "ModelPackageGroupName",
    "DeleteModelPackageGroup": "ModelPackageGroupName",
    "CreateModelPackage": "ModelPackageName", "DescribeModelPackage": "ModelPackageName",
    "DeleteModelPackage": "ModelPackageName", "UpdateModelPackage": "ModelPackageArn",
    "CreateTrainingJob": "TrainingJobName", "DescribeTrainingJob": "TrainingJobName",
    "StopTrainingJob": "TrainingJobName",
    "ListEndpointConfigs": None, "ListEndpoints": None, "ListHyperParameterTuningJobs": None,
    "ListModelPackageGroups": None, "ListModelPackages": None, "ListModels": None, "ListTrainingJobs": None,
}
_RESOURCE_TYPE = {
    "EndpointName": "endpoint", "EndpointConfigName": "endpoint-config", "ModelName": "model",
    "HyperParameterTuningJobName": "hyper-parameter-tuning-job", "ModelPackageGroupName": "model-package-group",
    "ModelPackageName": "model-package", "TrainingJobName": "training-job",
}
# Where a request hands SageMaker a role to act as (a path of members).
PASSED_ROLES = {
    "CreateTrainingJob": [("RoleArn",)],
    "CreateHyperParameterTuningJob": [("TrainingJobDefinition", "RoleArn")],
    "CreateModel": [("ExecutionRoleArn",)],
    "CreateEndpointConfig": [("ExecutionRoleArn",)],
}


def arn(ctx, resource_type: str, name: str) -> str:
    return sagemaker_arn(ctx.region, ctx.account_id, resource_type, name)


def resource_of(ctx, action: str, params: dict) -> str:
    if action not in RESOURCE_MEMBER:
        raise AccessDeniedException(f"local_aws does not know which resource sagemaker:{action} acts on.")
    member = RESOURCE_MEMBER[action]
    if member is None:
        return ANY
    value = params.get(member)
    if value is None and action == "CreateModelPackage":
        # A versioned package: its ARN's name is the group's, then the version AWS assigns.
        return arn(ctx, "model-package", f"{params.get('ModelPackageGroupName', '')}/*")
    if value is None or value.startswith("arn:"):
        return value or ANY
    return arn(ctx, _RESOURCE_TYPE[member], value)


@action_authorizer("sagemaker")
def authorize_action(ctx, action: str, params: dict) -> None:
    ctx.authorize(f"sagemaker:{action}", resource_of(ctx, action, params))
    for path in PASSED_ROLES.get(action, ()):
        role = params
        for member in path:
            role = role.get(member) if isinstance(role, dict) else None
        if role:
            ctx.authorize("iam:PassRole", role, condition_keys={"iam:PassedToService": "sagemaker.amazonaws.com"})


def authorize_invocation(ctx, endpoint_name: str) -> None:
    ctx.authorize("sagemaker:InvokeEndpoint", arn(ctx, "endpoint", endpoint_name))
