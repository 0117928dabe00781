"""AddTags, ListTags, DeleteTags."""

from local_aws.registry import action
from local_aws.sagemaker.listing import page, page_response
from local_aws.sagemaker.tags import TagState


@action("sagemaker", "AddTags")
def add_tags(params, ctx):
    state = ctx.state(TagState)
    state.add(params["ResourceArn"], params["Tags"])
    return {"Tags": state.list(params["ResourceArn"])}


@action("sagemaker", "DeleteTags")
def delete_tags(params, ctx):
    ctx.state(TagState).delete(params["ResourceArn"], params["TagKeys"])
    return {}


@action("sagemaker", "ListTags")
def list_tags(params, ctx):
    tags, next_token = page(
        ctx.state(TagState).list(params["ResourceArn"]), {**params, "SortBy": "Key"},
        name_key="Key", sort_keys={"Key": "Key"}, default_sort="Key",
    )
    return page_response("Tags", tags, next_token)
