"""CreateModel, DescribeModel, DeleteModel, ListModels."""

from local_aws.containers import s3_files
from local_aws.exceptions import NotSupportedLocally, ValidationException
from local_aws.routing import action
from local_aws.sagemaker.execution_roles import require_assumable
from local_aws.sagemaker.models import Model, ModelStore
from local_aws.sagemaker.pytorch_images import require_pytorch_image
from local_aws.sagemaker.resource_actions import delete_action, describe_action, list_action


@action("sagemaker", "CreateModel")
def create_model(params, ctx):
    container = _single_container(params)
    _refuse_unsupported(params, container)
    require_pytorch_image(container.get("Image", ""), "inference")
    if "ExecutionRoleArn" in params:
        require_assumable(ctx, params["ExecutionRoleArn"])
    data_url = container.get("ModelDataUrl")
    if data_url is None:
        raise ValidationException("The PyTorch inference container needs PrimaryContainer.ModelDataUrl.")
    if not s3_files.object_exists(ctx.client("s3"), data_url):
        raise ValidationException(f"Could not find model data at {data_url}.")
    store = ctx.state(ModelStore)
    model = Model(
        name=params["ModelName"],
        arn=store.arn(params["ModelName"]),
        container=container,
        execution_role_arn=params.get("ExecutionRoleArn"),
        enable_network_isolation=params.get("EnableNetworkIsolation", False),
    )
    return {"ModelArn": store.add(model, params.get("Tags")).arn}


def _single_container(params: dict) -> dict:
    containers = [params["PrimaryContainer"]] if "PrimaryContainer" in params else params.get("Containers", [])
    if "PrimaryContainer" in params and "Containers" in params:
        raise ValidationException("Specify either PrimaryContainer or Containers, not both.")
    if len(containers) != 1:
        raise NotSupportedLocally(
            f"a model with {len(containers)} containers", "Give exactly one container (PrimaryContainer)."
        )
    return containers[0]


def _refuse_unsupported(params: dict, container: dict) -> None:
    if "VpcConfig" in params:
        raise NotSupportedLocally("VpcConfig", "Models are served on the loopback interface.")
    if container.get("Mode", "SingleModel") != "SingleModel":
        raise NotSupportedLocally(f"container Mode {container['Mode']}", "Only SingleModel is served.")
    for unsupported in ("ModelPackageName", "ModelDataSource", "ImageConfig", "InferenceSpecificationName"):
        if unsupported in container:
            raise NotSupportedLocally(f"container {unsupported}", "Give Image and ModelDataUrl.")


describe_action("DescribeModel", ModelStore, "ModelName")
delete_action("DeleteModel", ModelStore, "ModelName")
list_action("ListModels", ModelStore, "Models", name_key="ModelName",
            sort_keys={"Name": "ModelName", "CreationTime": "CreationTime"}, default_order="Descending")
