"""SageMaker endpoint configuration and endpoint actions.

Each action checks its request against the state, records the change, and leaves the slow part
(starting, replacing, scaling or stopping replicas) to :mod:`local_aws.hosting.provisioning` in a
background thread, so the endpoint's status tells clients what happened, as on AWS.
"""

from local_aws.clock import now
from local_aws.errors import NotSupportedLocally, ValidationException
from local_aws.hosting import provisioning
from local_aws.hosting.monitor import HostingMonitor
from local_aws.hosting.state import CREATING, DELETING, IN_SERVICE, UPDATING, HostingState
from local_aws.registry import action
from local_aws.sagemaker.listing import page, page_response
from local_aws.sagemaker.models import find_model
from local_aws.sagemaker.tags import TagState

# Endpoint-config members local AWS cannot run, and what it runs instead.
_UNSUPPORTED_CONFIG_MEMBERS = {
    "DataCaptureConfig": "Invocations are not captured to S3.",
    "AsyncInferenceConfig": "Only real-time endpoints are served.",
    "ExplainerConfig": "SageMaker Clarify explainers are not run.",
    "ShadowProductionVariants": "Only production variants are served.",
    "VpcConfig": "Endpoints are served on the loopback interface.",
    "MetricsConfig": "Invocation metrics are published once per metric period.",
    "CrossRegionTrafficConfig": "Endpoints serve the region they are created in.",
}
_UNSUPPORTED_VARIANT_MEMBERS = {
    "ServerlessConfig": "Give InitialInstanceCount and InstanceType for instance-backed replicas.",
    "AcceleratorType": "Replicas run on the local CPU.",
    "CoreDumpConfig": "Replica logs are kept instead.",
    "ManagedInstanceScaling": "Scale with Application Auto Scaling target tracking.",
    "InferenceAmiVersion": "Replicas run on the local machine.",
    "InstancePools": "Give one InstanceType.",
    "CapacityReservationConfig": "Replicas run on the local machine.",
    "AcceleratorPartitionLayouts": "Replicas run on the local CPU.",
}
LEAST_OUTSTANDING_REQUESTS = "LEAST_OUTSTANDING_REQUESTS"


def _state(ctx) -> HostingState:
    return ctx.state(HostingState)


def _refuse_unsupported_config(params: dict) -> None:
    for member, supported in _UNSUPPORTED_CONFIG_MEMBERS.items():
        if member in params:
            raise NotSupportedLocally(member, supported)
    if params.get("EnableNetworkIsolation"):
        raise NotSupportedLocally("EnableNetworkIsolation", "Replicas share the machine's network.")
    for variant in params["ProductionVariants"]:
        for member, supported in _UNSUPPORTED_VARIANT_MEMBERS.items():
            if member in variant:
                raise NotSupportedLocally(f"ProductionVariants.{member}", supported)
        if variant.get("EnableSSMAccess"):
            raise NotSupportedLocally("ProductionVariants.EnableSSMAccess", "Replica logs are kept instead.")
        strategy = variant.get("RoutingConfig", {}).get("RoutingStrategy", LEAST_OUTSTANDING_REQUESTS)
        if strategy != LEAST_OUTSTANDING_REQUESTS or "PrefixAwareRoutingConfig" in variant.get("RoutingConfig", {}):
            raise NotSupportedLocally(
                f"routing strategy {strategy}", f"Requests go to the least-loaded replica ({LEAST_OUTSTANDING_REQUESTS})."
            )


def _check_variants(ctx, variants: list[dict]) -> None:
    names = [variant["VariantName"] for variant in variants]
    if len(set(names)) != len(names):
        raise ValidationException(f"Production variant names must be unique, got {names}.")
    for variant in variants:
        for required in ("ModelName", "InstanceType", "InitialInstanceCount"):
            if required not in variant:
                raise ValidationException(
                    f"{required} is required for production variant {variant['VariantName']}."
                )
        find_model(ctx, variant["ModelName"])


@action("sagemaker", "CreateEndpointConfig")
def create_endpoint_config(params, ctx):
    _refuse_unsupported_config(params)
    _check_variants(ctx, params["ProductionVariants"])
    config = _state(ctx).add_config(params["EndpointConfigName"], params)
    ctx.state(TagState).register(config.arn, params.get("Tags"))
    return {"EndpointConfigArn": config.arn}


@action("sagemaker", "DescribeEndpointConfig")
def describe_endpoint_config(params, ctx):
    return _state(ctx).get_config(params["EndpointConfigName"]).describe()


@action("sagemaker", "DeleteEndpointConfig")
def delete_endpoint_config(params, ctx):
    state = _state(ctx)
    config = state.get_config(params["EndpointConfigName"])
    state.delete_config(config.name)
    ctx.state(TagState).forget(config.arn)
    return {}


@action("sagemaker", "ListEndpointConfigs")
def list_endpoint_configs(params, ctx):
    state = _state(ctx)
    with state.lock:
        summaries = [config.summary() for config in state.endpoint_configs.values()]
    configs, next_token = page(
        summaries, params, name_key="EndpointConfigName",
        sort_keys={"Name": "EndpointConfigName", "CreationTime": "CreationTime"}, default_order="Descending",
    )
    return page_response("EndpointConfigs", configs, next_token)


def _check_deployment_config(deployment_config: dict | None) -> None:
    """Blue/green all at once is what an update does; other strategies are refused, not faked."""
    if not deployment_config:
        return
    if "AutoRollbackConfiguration" in deployment_config:
        raise NotSupportedLocally(
            "DeploymentConfig.AutoRollbackConfiguration",
            "An update rolls back when the new fleet fails its health checks; CloudWatch alarms do not trigger it.",
        )
    if "RollingUpdatePolicy" in deployment_config:
        raise NotSupportedLocally(
            "DeploymentConfig.RollingUpdatePolicy", "Updates are blue/green (BlueGreenUpdatePolicy ALL_AT_ONCE)."
        )
    routing = deployment_config.get("BlueGreenUpdatePolicy", {}).get("TrafficRoutingConfiguration", {})
    if routing.get("Type", "ALL_AT_ONCE") != "ALL_AT_ONCE":
        raise NotSupportedLocally(
            f"blue/green traffic routing {routing['Type']}", "Traffic shifts ALL_AT_ONCE once the new fleet is healthy."
        )


@action("sagemaker", "CreateEndpoint")
def create_endpoint(params, ctx):
    state = _state(ctx)
    config = state.get_config(params["EndpointConfigName"])
    deployment_config = params.get("DeploymentConfig")
    _check_deployment_config(deployment_config)
    endpoint = state.add_endpoint(params["EndpointName"], config, deployment_config)
    ctx.state(TagState).register(endpoint.arn, params.get("Tags"))
    provisioning.in_background(provisioning.run_create, ctx, state, endpoint)
    ctx.state(HostingMonitor).ensure_started(ctx)
    return {"EndpointArn": endpoint.arn}


@action("sagemaker", "DescribeEndpoint")
def describe_endpoint(params, ctx):
    state = _state(ctx)
    with state.lock:
        return state.get_endpoint(params["EndpointName"]).describe()


@action("sagemaker", "ListEndpoints")
def list_endpoints(params, ctx):
    state = _state(ctx)
    with state.lock:
        summaries = [endpoint.summary() for endpoint in state.endpoints.values()]
    endpoints, next_token = page(
        summaries, params, name_key="EndpointName", status_key="EndpointStatus",
        sort_keys={"Name": "EndpointName", "CreationTime": "CreationTime", "Status": "EndpointStatus"},
        default_order="Descending",
    )
    return page_response("Endpoints", endpoints, next_token)


def _require_in_service(endpoint, verb: str) -> None:
    if endpoint.status in (CREATING, UPDATING, DELETING):
        raise ValidationException(f'Cannot {verb} in-progress endpoint "{endpoint.arn}".')
    if endpoint.status != IN_SERVICE:
        raise ValidationException(
            f'Cannot {verb} endpoint "{endpoint.arn}" in status {endpoint.status}; delete it and create it again.'
        )


@action("sagemaker", "UpdateEndpoint")
def update_endpoint(params, ctx):
    state = _state(ctx)
    if params.get("ExcludeRetainedVariantProperties"):
        raise NotSupportedLocally(
            "ExcludeRetainedVariantProperties", "RetainAllVariantProperties keeps instance counts and weights."
        )
    config = state.get_config(params["EndpointConfigName"])
    deployment_config = params.get("DeploymentConfig")
    _check_deployment_config(deployment_config)
    with state.lock:
        endpoint = state.get_endpoint(params["EndpointName"])
        _require_in_service(endpoint, "update")
        counts = provisioning.initial_counts(config)
        if params.get("RetainAllVariantProperties"):
            counts.update({name: count for name, count in endpoint.desired_counts.items() if name in counts})
        if params.get("RetainDeploymentConfig"):
            deployment_config = endpoint.deployment_config
        endpoint.pending_config = config
        endpoint.pending_since = now()
        endpoint.set_status(UPDATING)
    provisioning.in_background(provisioning.run_update, ctx, state, endpoint, config, counts, deployment_config)
    return {"EndpointArn": endpoint.arn}


@action("sagemaker", "UpdateEndpointWeightsAndCapacities")
def update_endpoint_weights_and_capacities(params, ctx):
    state = _state(ctx)
    with state.lock:
        endpoint = state.get_endpoint(params["EndpointName"])
        _require_in_service(endpoint, "update")
        changes = params["DesiredWeightsAndCapacities"]
        for change in changes:
            if change["VariantName"] not in endpoint.deployment.fleets:
                raise ValidationException(
                    f'The variant name(s) "{change["VariantName"]}" is/are not present in endpoint "{endpoint.arn}".'
                )
        counts = {}
        for change in changes:
            name = change["VariantName"]
            if "DesiredWeight" in change:
                endpoint.deployment.weights[name] = change["DesiredWeight"]
            if "DesiredInstanceCount" in change:
                counts[name] = change["DesiredInstanceCount"]
        endpoint.desired_counts.update(counts)
        endpoint.set_status(UPDATING)
    provisioning.in_background(provisioning.run_scale, ctx, state, endpoint, counts)
    return {"EndpointArn": endpoint.arn}


@action("sagemaker", "DeleteEndpoint")
def delete_endpoint(params, ctx):
    state = _state(ctx)
    with state.lock:
        endpoint = state.get_endpoint(params["EndpointName"])
        if endpoint.status in (CREATING, UPDATING, DELETING):
            raise ValidationException(f'Cannot delete in-progress endpoint "{endpoint.arn}".')
        endpoint.set_status(DELETING)
    ctx.state(TagState).forget(endpoint.arn)
    provisioning.in_background(provisioning.run_delete, ctx, state, endpoint)
    return {}
