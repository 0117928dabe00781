"""The model registry's actions: model package groups, model packages and their approval."""

from local_aws.compute import s3
from local_aws.errors import ConflictException, ValidationException
from local_aws.registry import action
from local_aws.sagemaker.listing import page, page_response
from local_aws.sagemaker.model_registry import ModelPackage, ModelPackageGroup, RegistryState
from local_aws.sagemaker.tags import TagState


def _paged(key: str, summaries: list[dict], params: dict, name_key: str) -> dict:
    items, next_token = page(summaries, params, name_key=name_key,
                             sort_keys={"Name": name_key, "CreationTime": "CreationTime"})
    return page_response(key, items, next_token)


@action("sagemaker", "CreateModelPackageGroup")
def create_group(params, ctx):
    name = params["ModelPackageGroupName"]
    group = ModelPackageGroup(name, ctx.arn(f"model-package-group/{name.lower()}"),
                              params.get("ModelPackageGroupDescription", ""))
    state = ctx.state(RegistryState)
    with state.lock:
        if name in state.groups:
            raise ValidationException(f"Model Package Group already exists: {state.groups[name].arn}")
        state.groups[name] = group
    ctx.state(TagState).register(group.arn, params.get("Tags"))
    return {"ModelPackageGroupArn": group.arn}


@action("sagemaker", "DescribeModelPackageGroup")
def describe_group(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        return state.group(params["ModelPackageGroupName"]).describe()


@action("sagemaker", "ListModelPackageGroups")
def list_groups(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        summaries = [group.summary() for group in state.groups.values()]
    return _paged("ModelPackageGroupSummaryList", summaries, params, "ModelPackageGroupName")


@action("sagemaker", "DeleteModelPackageGroup")
def delete_group(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        group = state.group(params["ModelPackageGroupName"])
        if group.versions:
            raise ConflictException(f"Model Package Group {group.name} still has model packages; delete them first.")
        del state.groups[group.name]
    ctx.state(TagState).forget(group.arn)
    return {}


@action("sagemaker", "CreateModelPackage")
def create_package(params, ctx):
    _check_model_data(params, ctx)
    request = {k: v for k, v in params.items() if k not in ("Tags", "ClientToken")}
    state = ctx.state(RegistryState)
    with state.lock:
        if "ModelPackageGroupName" in params:
            group = state.group(params["ModelPackageGroupName"])
            group.last_version += 1
            version = group.last_version
            package = ModelPackage(group.name, ctx.arn(f"model-package/{group.name.lower()}/{version}"), request,
                                   group_name=group.name, version=version)
            group.versions.append(package)
        elif "ModelPackageName" in params:
            name = params["ModelPackageName"]
            package = ModelPackage(name, ctx.arn(f"model-package/{name.lower()}"), request)
            if package.arn in state.packages:
                raise ValidationException(f"Model Package already exists: {package.arn}")
        else:
            raise ValidationException("Specify ModelPackageGroupName (a versioned package) or ModelPackageName.")
        package.approval_status = params.get("ModelApprovalStatus", "PendingManualApproval")
        package.customer_metadata = dict(params.get("CustomerMetadataProperties", {}))
        state.packages[package.arn] = package
    ctx.state(TagState).register(package.arn, params.get("Tags"))
    return {"ModelPackageArn": package.arn}


def _check_model_data(params: dict, ctx) -> None:
    client = ctx.client("s3")
    for container in params.get("InferenceSpecification", {}).get("Containers", []):
        url = container.get("ModelDataUrl")
        if url is not None and not s3.object_exists(client, url):
            raise ValidationException(f"Could not find model data at {url}.")


@action("sagemaker", "DescribeModelPackage")
def describe_package(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        return state.package(params["ModelPackageName"]).describe()


@action("sagemaker", "ListModelPackages")
def list_packages(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        if "ModelPackageGroupName" in params:
            packages = list(state.group(params["ModelPackageGroupName"]).versions)
        else:
            wanted = params.get("ModelPackageType", "Unversioned")
            packages = [p for p in state.packages.values()
                        if wanted == "Both" or (p.group_name is None) == (wanted == "Unversioned")]
        if "ModelApprovalStatus" in params:
            packages = [p for p in packages if p.approval_status == params["ModelApprovalStatus"]]
        summaries = [p.summary() for p in packages]
    return _paged("ModelPackageSummaryList", summaries, params, "ModelPackageArn")


@action("sagemaker", "UpdateModelPackage")
def update_package(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        package = state.package(params["ModelPackageArn"])
        package.update(params)
    return {"ModelPackageArn": package.arn}


@action("sagemaker", "DeleteModelPackage")
def delete_package(params, ctx):
    state = ctx.state(RegistryState)
    with state.lock:
        package = state.package(params["ModelPackageName"])
        del state.packages[package.arn]
        if package.group_name is not None:
            state.groups[package.group_name].versions.remove(package)
    ctx.state(TagState).forget(package.arn)
    return {}
