"""AddPermission, RemovePermission and GetPolicy: a function's resource-based policies, which IAM evaluates
beside the caller's own policies (`api_requests.authorize`, `resource_policies`)."""

import json
import uuid

from werkzeug.wrappers import Request, Response

from local_aws.awslambda.api_requests import API, function_named, json_response, named_qualifier, request_params
from local_aws.awslambda.functions import (
    InvalidParameterValueException,
    LambdaFunction,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from local_aws.awslambda.resource_policies import FunctionPolicy, statement
from local_aws.routing import route

POLICY = API + "/<name>/policy"


def _qualifier(function: LambdaFunction, params: dict) -> str | None:
    """The version or alias the request's policy is for (None: the unqualified function); it must exist."""
    qualifier = named_qualifier(params["FunctionName"], params.get("Qualifier"))
    if qualifier == "$LATEST":
        raise InvalidParameterValueException("We currently do not support adding policies for $LATEST.")
    if qualifier is not None and qualifier not in function.versions and qualifier not in function.aliases:
        raise ResourceNotFoundException(f"Function not found: {function.arn}:{qualifier}")
    return qualifier


def _check_revision(policy: FunctionPolicy | None, revision_id: str | None) -> None:
    if revision_id is not None and (policy is None or revision_id != policy.revision_id):
        raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. "
                                          "Call the GetPolicy API to retrieve the latest Revision Id")


@route("lambda", POLICY, methods=["POST"])
def add_permission(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "AddPermission", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        qualifier = _qualifier(function, params)
        policy = function.policies.get(qualifier)
        _check_revision(policy, params.get("RevisionId"))
        policy = function.policies.setdefault(qualifier, FunctionPolicy())
        if params["StatementId"] in policy.statements:
            raise ResourceConflictException(f"The statement id ({params['StatementId']}) provided already exists. "
                                            "Please provide a new statement id, or remove the existing statement.")
        added = statement(function.arn + (f":{qualifier}" if qualifier else ""), params)
        policy.statements[added["Sid"]] = added
        policy.revision_id = str(uuid.uuid4())
    return json_response({"Statement": json.dumps(added)}, status=201)


@route("lambda", POLICY + "/<statement_id>", methods=["DELETE"])
def remove_permission(request: Request, ctx, name: str, statement_id: str) -> Response:
    params = request_params(request, ctx, "RemovePermission", {"FunctionName": name, "StatementId": statement_id})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        qualifier = _qualifier(function, params)
        policy = function.policies.get(qualifier)
        _check_revision(policy, params.get("RevisionId"))
        if policy is None or params["StatementId"] not in policy.statements:
            raise ResourceNotFoundException(f"Statement {params['StatementId']} is not found in resource policy.")
        del policy.statements[params["StatementId"]]
        policy.revision_id = str(uuid.uuid4())
        if not policy.statements:
            del function.policies[qualifier]
    return Response(status=204)


@route("lambda", POLICY, methods=["GET"])
def get_policy(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "GetPolicy", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        qualifier = _qualifier(function, params)
        policy = function.policies.get(qualifier)
        if policy is None:
            raise ResourceNotFoundException("The resource you requested does not exist.")
        return json_response({"Policy": json.dumps(policy.document()), "RevisionId": policy.revision_id})
