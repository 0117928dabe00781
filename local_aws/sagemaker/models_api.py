"""CreateModel, DescribeModel, DeleteModel, ListModels."""

from local_aws.compute import s3
from local_aws.compute.images import require_pytorch_image
from local_aws.errors import NotSupportedLocally, ValidationException
from local_aws.registry import action
from local_aws.sagemaker.listing import page, page_response
from local_aws.sagemaker.models import Model, ModelState, find_model
from local_aws.sagemaker.tags import TagState


@action("sagemaker", "CreateModel")
def create_model(params, ctx):
    container = _single_container(params)
    _refuse_unsupported(params, container)
    require_pytorch_image(container.get("Image", ""), "inference")
    data_url = container.get("ModelDataUrl")
    if data_url is None:
        raise ValidationException("The PyTorch inference container needs PrimaryContainer.ModelDataUrl.")
    if not s3.object_exists(ctx.client("s3"), data_url):
        raise ValidationException(f"Could not find model data at {data_url}.")
    name = params["ModelName"]
    model = Model(
        name=name,
        arn=ctx.arn(f"model/{name.lower()}"),
        container=container,
        execution_role_arn=params.get("ExecutionRoleArn"),
        enable_network_isolation=params.get("EnableNetworkIsolation", False),
    )
    state = ctx.state(ModelState)
    with state.lock:
        if name in state.models:
            raise ValidationException(f'Cannot create already existing model "{state.models[name].arn}".')
        state.models[name] = model
    ctx.state(TagState).register(model.arn, params.get("Tags"))
    return {"ModelArn": model.arn}


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


@action("sagemaker", "DescribeModel")
def describe_model(params, ctx):
    return find_model(ctx, params["ModelName"]).describe()


@action("sagemaker", "DeleteModel")
def delete_model(params, ctx):
    model = find_model(ctx, params["ModelName"])
    state = ctx.state(ModelState)
    with state.lock:
        state.models.pop(model.name, None)
    ctx.state(TagState).forget(model.arn)
    return {}


@action("sagemaker", "ListModels")
def list_models(params, ctx):
    state = ctx.state(ModelState)
    with state.lock:
        summaries = [model.summary() for model in state.models.values()]
    models, next_token = page(
        summaries, params, name_key="ModelName",
        sort_keys={"Name": "ModelName", "CreationTime": "CreationTime"}, default_order="Descending",
    )
    return page_response("Models", models, next_token)
