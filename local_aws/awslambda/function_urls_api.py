"""Function URLs: Create/Get/Update/DeleteFunctionUrlConfig, and the URLs themselves, served by local AWS.

A URL is `<local AWS>/lambda-url/<url id>/` (AWS's `https://<url id>.lambda-url.<region>.on.aws/`): a request
to it reaches the function as API Gateway's payload format 2.0 event, and the function's answer (a
`statusCode`/`headers`/`body` object, or any JSON value as a 200) becomes the HTTP response. Only
`AuthType AWS_IAM` is served: such requests carry a SigV4 signature for `lambda`, which local AWS's
gate checks like any other. `AuthType NONE` is refused, since it would let any process of this machine
run the function with its role's credentials without signing.
"""

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field

from werkzeug.wrappers import Request, Response

from local_aws.access.authorization import identity_of
from local_aws.awslambda.api_requests import function_named, json_response, request_params
from local_aws.awslambda.concurrency import Throttled
from local_aws.awslambda.functions import (
    FunctionStore,
    InvalidParameterValueException,
    ResourceConflictException,
    ResourceNotFoundException,
    last_modified,
)
from local_aws.awslambda.functions_api import MAX_SYNC_PAYLOAD_BYTES
from local_aws.awslambda.invocations import new_environment, run_invocation
from local_aws.awslambda.resource_policies import resource_policy
from local_aws.clock import now
from local_aws.exceptions import AccessDeniedException, NotSupportedLocally
from local_aws.routing import route

URL_CONFIG = "/2021-10-31/functions/<name>/url"
URL_PREFIX = "/lambda-url"


@dataclass
class UrlConfig:
    url_id: str
    qualifier: str | None
    auth_type: str
    creation_time: str = field(default_factory=lambda: last_modified(now()))
    last_modified: str = field(default_factory=lambda: last_modified(now()))

    def shape(self, ctx, function_arn: str) -> dict:
        return {"FunctionUrl": f"{ctx.platform.url}{URL_PREFIX}/{self.url_id}/",
                "FunctionArn": function_arn + (f":{self.qualifier}" if self.qualifier else ""),
                "AuthType": self.auth_type, "InvokeMode": "BUFFERED", "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified}


def _checked(params: dict, function) -> str | None:
    """The qualifier a URL config is for ($LATEST or an alias), refusing what local AWS does not serve."""
    if params.get("AuthType", "AWS_IAM") != "AWS_IAM":
        raise NotSupportedLocally("AuthType NONE", "Local AWS serves only signed callers; a URL without "
                                  "authentication would let any process of this machine run the function. Use AWS_IAM.")
    if params.get("InvokeMode", "BUFFERED") != "BUFFERED":
        raise NotSupportedLocally("InvokeMode RESPONSE_STREAM", "Responses are buffered.")
    if params.get("Cors"):
        raise NotSupportedLocally("Cors", "Browser pages reach local AWS only from LOCAL_AWS_CORS_ORIGINS.")
    qualifier = params.get("Qualifier")
    if qualifier in (None, "$LATEST"):
        return None
    if qualifier.isdigit() or qualifier not in function.aliases:
        raise InvalidParameterValueException(f"A function URL's qualifier must be $LATEST or an alias: {qualifier}")
    return qualifier


@route("lambda", URL_CONFIG, methods=["POST"])
def create_function_url_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "CreateFunctionUrlConfig", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    qualifier = _checked(params, function)
    with function.lock:
        if qualifier in function.url_configs:
            raise ResourceConflictException(f"Failed to create function url config for [functionArn = "
                                            f"{function.arn}]. Error message:  FunctionUrlConfig exists for this "
                                            "Lambda function")
        config = UrlConfig(secrets.token_hex(16), qualifier, params["AuthType"])
        function.url_configs[qualifier] = config
    answer = config.shape(ctx, function.arn)
    answer.pop("LastModifiedTime")
    return json_response(answer, status=201)


def _config(function, qualifier: str | None) -> UrlConfig:
    config = function.url_configs.get(None if qualifier == "$LATEST" else qualifier)
    if config is None:
        raise ResourceNotFoundException("The resource you requested does not exist.")
    return config


@route("lambda", URL_CONFIG, methods=["GET"])
def get_function_url_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "GetFunctionUrlConfig", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        return json_response(_config(function, params.get("Qualifier")).shape(ctx, function.arn))


@route("lambda", URL_CONFIG, methods=["PUT"])
def update_function_url_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "UpdateFunctionUrlConfig", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    _checked(params, function)
    with function.lock:
        config = _config(function, params.get("Qualifier"))
        config.last_modified = last_modified(now())
        return json_response(config.shape(ctx, function.arn))


@route("lambda", URL_CONFIG, methods=["DELETE"])
def delete_function_url_config(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "DeleteFunctionUrlConfig", {"FunctionName": name})
    function = function_named(ctx, params["FunctionName"])
    with function.lock:
        config = _config(function, params.get("Qualifier"))
        del function.url_configs[config.qualifier]
    return Response(status=204)


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@route("lambda", URL_PREFIX + "/<url_id>/", methods=METHODS, max_body_bytes=MAX_SYNC_PAYLOAD_BYTES)
@route("lambda", URL_PREFIX + "/<url_id>/<path:rest>", methods=METHODS, max_body_bytes=MAX_SYNC_PAYLOAD_BYTES)
def serve_url(request: Request, ctx, url_id: str, rest: str = "") -> Response:
    for function in ctx.state(FunctionStore).all():
        config = next((c for c in function.url_configs.values() if c.url_id == url_id), None)
        if config is not None:
            break
    else:
        return Response(json.dumps({"Message": "Forbidden"}), status=403, content_type="application/json")
    qualified_arn = function.arn + (f":{config.qualifier}" if config.qualifier else "")
    try:
        ctx.authorize("lambda:InvokeFunctionUrl", qualified_arn, resource_policy(function, config.qualifier),
                      condition_keys={"lambda:FunctionUrlAuthType": config.auth_type})
    except AccessDeniedException:  # logged by the evaluation; a URL's caller learns no more than this
        return Response(json.dumps({"Message": "Forbidden"}), status=403, content_type="application/json")
    snapshot = function.resolve(config.qualifier)
    event = _event(request, ctx, url_id, rest)
    try:
        result = run_invocation(ctx, function, snapshot, json.dumps(event).encode(), config.qualifier,
                                lambda: new_environment(ctx, function, snapshot))
    except Throttled:
        return Response(json.dumps({"Message": "Rate Exceeded."}), status=429, content_type="application/json")
    if result.function_error:
        return Response("Internal Server Error", status=502, content_type="text/plain")
    return _http_response(result.payload)


def _event(request: Request, ctx, url_id: str, rest: str) -> dict:
    """API Gateway's payload format 2.0, as Lambda builds it for a function URL."""
    body = request.get_data()
    text_types = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
    is_text = request.content_type is None or request.content_type.startswith(text_types)
    headers = {name.lower(): value for name, value in request.headers.items()}
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/" + rest,
        "rawQueryString": request.query_string.decode("latin-1"), "headers": headers,
        "requestContext": {
            "accountId": ctx.account_id, "apiId": url_id, "domainName": request.host, "domainPrefix": url_id,
            "http": {"method": request.method, "path": "/" + rest, "protocol": "HTTP/1.1",
                     "sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "authorizer": {"iam": _caller(ctx)},
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": bool(body) and not is_text,
    }
    if request.args:
        event["queryStringParameters"] = {name: ",".join(request.args.getlist(name)) for name in request.args}
    if body:
        event["body"] = body.decode("utf-8", errors="replace") if is_text else base64.b64encode(body).decode()
    return event


def _caller(ctx) -> dict:
    """Who signed the request, as Lambda tells an AWS_IAM function URL's function."""
    principal = ctx.principal
    if principal.is_owner:
        arn, user_id = f"arn:aws:iam::{principal.account_id}:root", principal.account_id
    else:
        identity = identity_of(principal)
        arn, user_id = identity.caller.arn, identity.user_id
    return {"accessKey": principal.access_key_id, "accountId": principal.account_id, "callerId": user_id,
            "cognitoIdentity": None, "principalOrgId": None, "userArn": arn, "userId": user_id}


def _http_response(payload: bytes) -> Response:
    """The function's answer as HTTP: a `statusCode` object maps onto the response; anything else is a
    200 carrying the answer as JSON, as Lambda infers it."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return Response(payload, status=200, content_type="application/json")
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return Response(payload, status=200, content_type="application/json")
    body = answer.get("body", "")
    data = base64.b64decode(body) if answer.get("isBase64Encoded") else str(body).encode()
    response = Response(data, status=int(answer["statusCode"]), headers=answer.get("headers") or {})
    for cookie in answer.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response
