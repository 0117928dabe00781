"""AddTags, ListTags, DeleteTags: on the tags every SageMaker resource carries."""

from local_aws.exceptions import ValidationException
from local_aws.hosting.state import EndpointConfigStore, EndpointStore
from local_aws.routing import action
from local_aws.sagemaker.listing import listed
from local_aws.sagemaker.model_registry import ModelPackageGroupStore, ModelPackageStore
from local_aws.sagemaker.models import ModelStore
from local_aws.sagemaker.training_jobs import TrainingJobStore
from local_aws.sagemaker.tuning_jobs import TuningJobStore
from local_aws.store import Store, merged_tags

TAGGABLE_STORES = (ModelStore, ModelPackageGroupStore, ModelPackageStore, TrainingJobStore, TuningJobStore,
                   EndpointConfigStore, EndpointStore)


def _tagged(ctx, arn: str) -> tuple[Store, object]:
    """The store holding the resource called `arn`, and the resource."""
    for store_type in TAGGABLE_STORES:
        store = ctx.state(store_type)
        resource = store.find_by_arn(arn)
        if resource is not None:
            return store, resource
    raise ValidationException(f"Resource {arn} does not exist or is not taggable.")


def _listed(resource) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in resource.tags.items()]


@action("sagemaker", "AddTags")
def add_tags(params, ctx):
    store, resource = _tagged(ctx, params["ResourceArn"])
    with store.lock:
        resource.tags = merged_tags(resource.arn, resource.tags, params["Tags"])
        return {"Tags": _listed(resource)}


@action("sagemaker", "DeleteTags")
def delete_tags(params, ctx):
    store, resource = _tagged(ctx, params["ResourceArn"])
    with store.lock:
        resource.tags = {k: v for k, v in resource.tags.items() if k not in params["TagKeys"]}
    return {}


@action("sagemaker", "ListTags")
def list_tags(params, ctx):
    store, resource = _tagged(ctx, params["ResourceArn"])
    with store.lock:
        tags = _listed(resource)
    return listed("Tags", tags, {**params, "SortBy": "Key"}, name_key="Key", sort_keys={"Key": "Key"},
                  default_sort="Key")
