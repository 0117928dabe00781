"""The actions every SageMaker resource type answers alike over its store: Describe* and Delete* of
the resource a request names, List* over every resource's summary. An API module declares them in
one line each; what differs between resource types (creation, updates, stops) it writes itself."""

from local_aws.routing import action
from local_aws.sagemaker.listing import listed
from local_aws.sagemaker.resources import SageMakerStore


def describe_action(name: str, store_type: type[SageMakerStore], name_member: str) -> None:
    """Register the action `name` (e.g. DescribeModel): the resource `params[name_member]` names, described."""

    def describe(params, ctx):
        store = ctx.state(store_type)
        with store.lock:  # whoever changes a resource does it under this lock: it is described whole
            return store.get(params[name_member]).describe()

    action("sagemaker", name)(describe)


def delete_action(name: str, store_type: type[SageMakerStore], name_member: str) -> None:
    """Register the action `name` (e.g. DeleteModel): the resource `params[name_member]` names goes, tags and all."""

    def delete(params, ctx):
        store = ctx.state(store_type)
        store.remove(store.get(params[name_member]))
        return {}

    action("sagemaker", name)(delete)


def list_action(name: str, store_type: type[SageMakerStore], result_key: str, **how) -> None:
    """Register the action `name` (e.g. ListModels): every resource's summary under `result_key`, filtered,
    sorted and paged as `local_aws.sagemaker.listing.listed` does with `how`."""

    def list_resources(params, ctx):
        return listed(result_key, ctx.state(store_type).summaries(), params, **how)

    action("sagemaker", name)(list_resources)
