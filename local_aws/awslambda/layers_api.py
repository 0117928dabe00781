"""PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayerVersions, ListLayers and
DeleteLayerVersion. A layer's zip is checked as a function's is and unpacked once; functions name layer
versions in `Layers` and see them merged at `/opt` (`layer_content`). Answers carry no `Content.Location`:
local AWS keeps layer zips itself, not in an S3 bucket a presigned URL could point into."""

import hashlib
import io
import zipfile
from pathlib import Path

from werkzeug.wrappers import Request, Response

from local_aws.awslambda.api_requests import json_response, paged, request_params
from local_aws.awslambda.code_packages import MAX_UNZIPPED_BYTES, read_code, unzipped_size
from local_aws.awslambda.functions import InvalidParameterValueException
from local_aws.awslambda.layers import LayerStore, LayerVersion
from local_aws.exceptions import NotSupportedLocally
from local_aws.routing import route

LAYERS = "/2018-10-31/layers"
MAX_LAYERS = 5


@route("lambda", LAYERS + "/<name>/versions", methods=["POST"])
def publish_layer_version(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "PublishLayerVersion", {"LayerName": name})
    if params.get("CompatibleArchitectures", ["x86_64"]) != ["x86_64"]:
        raise NotSupportedLocally(f"the architectures {params['CompatibleArchitectures']}", "Functions run on x86_64.")
    code = read_code(ctx, params["Content"], "PublishLayerVersion")
    details = {"Description": params.get("Description", "")}
    details.update({k: params[k] for k in ("CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo")
                    if k in params})
    store = ctx.state(LayerStore)
    version = store.publish(params["LayerName"], code, details, ctx.files() / "lambda" / "layers" / params["LayerName"])
    return json_response(version.shape(), status=201)


@route("lambda", LAYERS + "/<name>/versions/<int:number>", methods=["GET"])
def get_layer_version(request: Request, ctx, name: str, number: int) -> Response:
    params = request_params(request, ctx, "GetLayerVersion", {"LayerName": name, "VersionNumber": str(number)})
    return json_response(ctx.state(LayerStore).version(params["LayerName"], params["VersionNumber"]).shape())


@route("lambda", LAYERS + "/<name>/versions/<int:number>", methods=["DELETE"])
def delete_layer_version(request: Request, ctx, name: str, number: int) -> Response:
    params = request_params(request, ctx, "DeleteLayerVersion", {"LayerName": name, "VersionNumber": str(number)})
    ctx.state(LayerStore).delete(params["LayerName"], params["VersionNumber"])
    return Response(status=204)


def _compatible(version: LayerVersion, params: dict) -> bool:
    runtime, architecture = params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
    return ((runtime is None or runtime in version.details.get("CompatibleRuntimes", []))
            and (architecture is None or architecture in version.details.get("CompatibleArchitectures", [])))


@route("lambda", LAYERS + "/<name>/versions", methods=["GET"])
def list_layer_versions(request: Request, ctx, name: str) -> Response:
    params = request_params(request, ctx, "ListLayerVersions", {"LayerName": name})
    store = ctx.state(LayerStore)
    with store.lock:
        layer = store.find(params["LayerName"])
        versions = [] if layer is None else sorted(layer.versions.values(), key=lambda v: -v.version)
    found = [version.summary() for version in versions if _compatible(version, params)]
    return json_response(paged("LayerVersions", found, params))


@route("lambda", LAYERS, methods=["GET"])
def list_layers_or_get_by_arn(request: Request, ctx) -> Response:
    store = ctx.state(LayerStore)
    if request.args.get("find") == "LayerVersion":
        params = request_params(request, ctx, "GetLayerVersionByArn", {})
        return json_response(store.by_arn(params["Arn"]).shape())
    params = request_params(request, ctx, "ListLayers", {})
    layers = []
    with store.lock:
        for layer in sorted(store.all(), key=lambda layer: layer.name):
            versions = [v for v in sorted(layer.versions.values(), key=lambda v: -v.version) if _compatible(v, params)]
            if versions:
                layers.append({"LayerName": layer.name, "LayerArn": layer.arn, "LatestMatchingVersion":
                               versions[0].summary()})
    return json_response(paged("Layers", layers, params))


def configured_layers(ctx, arns: list[str], code_zip: bytes) -> list[dict]:
    """`Layers` of CreateFunction/UpdateFunctionConfiguration checked as AWS checks them (at most five, each an
    existing version, the whole unzipped within the limit), as the configuration answers them."""
    if len(arns) > MAX_LAYERS:
        raise InvalidParameterValueException(f"Cannot reference more than {MAX_LAYERS} layers.")
    store = ctx.state(LayerStore)
    versions = []
    for arn in arns:
        try:
            versions.append(store.by_arn(arn))
        except Exception:
            raise InvalidParameterValueException(f"Layer version {arn} does not exist.")
    total = unzipped_size(code_zip) + sum(unzipped_size(version.code.zip_bytes) for version in versions)
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Function code combined with layers exceeds the maximum allowed size "
                                             f"of {MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes.")
    return [{"Arn": version.arn, "CodeSize": len(version.code.zip_bytes)} for version in versions]


def layer_content(ctx, layers: list[dict]) -> Path | None:
    """The function's layers merged as Lambda extracts them into `/opt`, in order, a later layer's file
    replacing an earlier one's; made once per combination. None for a function without layers."""
    if not layers:
        return None
    store = ctx.state(LayerStore)
    versions = [store.content(layer["Arn"]) for layer in layers]
    key = hashlib.sha256("\n".join(f"{v.arn}:{v.code.sha256}" for v in versions).encode()).hexdigest()[:24]
    merged = ctx.files() / "lambda" / "opt" / key
    if merged.exists():
        return merged
    staging = merged.with_name(key + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    for version in versions:
        with zipfile.ZipFile(io.BytesIO(version.code.zip_bytes)) as archive:
            archive.extractall(staging)
    try:
        staging.rename(merged)
    except OSError:  # another environment made it meanwhile
        pass
    return merged
