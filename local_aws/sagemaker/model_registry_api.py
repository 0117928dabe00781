"""The model registry's actions: model package groups, model packages and their approval."""

from local_aws.containers import s3_files
from local_aws.exceptions import ConflictException, ValidationException
from local_aws.routing import action
from local_aws.sagemaker.listing import listed
from local_aws.sagemaker.model_registry import (
    ModelPackage,
    ModelPackageGroup,
    ModelPackageGroupStore,
    ModelPackageStore,
)
from local_aws.sagemaker.resource_actions import describe_action, list_action


@action("sagemaker", "CreateModelPackageGroup")
def create_group(params, ctx):
    groups = ctx.state(ModelPackageGroupStore)
    name = params["ModelPackageGroupName"]
    group = ModelPackageGroup(name, groups.arn(name), params.get("ModelPackageGroupDescription", ""))
    return {"ModelPackageGroupArn": groups.add(group, params.get("Tags")).arn}


describe_action("DescribeModelPackageGroup", ModelPackageGroupStore, "ModelPackageGroupName")
list_action("ListModelPackageGroups", ModelPackageGroupStore, "ModelPackageGroupSummaryList",
            name_key="ModelPackageGroupName", sort_keys={"Name": "ModelPackageGroupName", "CreationTime": "CreationTime"})


@action("sagemaker", "DeleteModelPackageGroup")
def delete_group(params, ctx):
    groups = ctx.state(ModelPackageGroupStore)
    with groups.lock:
        group = groups.get(params["ModelPackageGroupName"])
        if group.versions:
            raise ConflictException(f"Model Package Group {group.name} still has model packages; delete them first.")
        groups.remove(group)
    return {}


@action("sagemaker", "CreateModelPackage")
def create_package(params, ctx):
    _check_model_data(params, ctx)
    request = {k: v for k, v in params.items() if k not in ("Tags", "ClientToken")}
    groups, packages = ctx.state(ModelPackageGroupStore), ctx.state(ModelPackageStore)
    fields = {"request": request, "approval_status": params.get("ModelApprovalStatus", "PendingManualApproval"),
              "customer_metadata": dict(params.get("CustomerMetadataProperties", {}))}
    if "ModelPackageGroupName" in params:
        with groups.lock:  # the group's versions and the package store change together
            group = groups.get(params["ModelPackageGroupName"])
            version = group.last_version + 1
            package = ModelPackage(group.name, packages.arn(f"{group.name}/{version}"),
                                   group_name=group.name, version=version, **fields)
            packages.add(package, params.get("Tags"))
            group.last_version = version
            group.versions.append(package)
    elif "ModelPackageName" in params:
        name = params["ModelPackageName"]
        package = packages.add(ModelPackage(name, packages.arn(name), **fields), params.get("Tags"))
    else:
        raise ValidationException("Specify ModelPackageGroupName (a versioned package) or ModelPackageName.")
    return {"ModelPackageArn": package.arn}


def _check_model_data(params: dict, ctx) -> None:
    client = ctx.client("s3")
    for container in params.get("InferenceSpecification", {}).get("Containers", []):
        url = container.get("ModelDataUrl")
        if url is not None and not s3_files.object_exists(client, url):
            raise ValidationException(f"Could not find model data at {url}.")


describe_action("DescribeModelPackage", ModelPackageStore, "ModelPackageName")


@action("sagemaker", "ListModelPackages")
def list_packages(params, ctx):
    if "ModelPackageGroupName" in params:
        groups = ctx.state(ModelPackageGroupStore)
        with groups.lock:
            packages = list(groups.get(params["ModelPackageGroupName"]).versions)
    else:
        wanted = params.get("ModelPackageType", "Unversioned")
        packages = [p for p in ctx.state(ModelPackageStore).all()
                    if wanted == "Both" or (p.group_name is None) == (wanted == "Unversioned")]
    if "ModelApprovalStatus" in params:
        packages = [p for p in packages if p.approval_status == params["ModelApprovalStatus"]]
    with ctx.state(ModelPackageStore).lock:
        summaries = [p.summary() for p in packages]
    return listed("ModelPackageSummaryList", summaries, params, name_key="ModelPackageArn",
                  sort_keys={"Name": "ModelPackageArn", "CreationTime": "CreationTime"})


@action("sagemaker", "UpdateModelPackage")
def update_package(params, ctx):
    package, _ = ctx.state(ModelPackageStore).change(params["ModelPackageArn"], lambda package: package.update(params))
    return {"ModelPackageArn": package.arn}


@action("sagemaker", "DeleteModelPackage")
def delete_package(params, ctx):
    groups, packages = ctx.state(ModelPackageGroupStore), ctx.state(ModelPackageStore)
    with groups.lock:
        package = packages.get(params["ModelPackageName"])
        packages.remove(package)
        if package.group_name is not None:
            groups.get(package.group_name).versions.remove(package)
    return {}
