"""SageMaker endpoint configuration and endpoint actions.

Each action checks its request against the state, records the change, and leaves the slow part
(starting, replacing, scaling or stopping replicas) to :mod:`local_aws.hosting.provisioning` in a
background thread, so the endpoint's status tells clients what happened, as on AWS.
"""

from local_aws.exceptions import NotSupportedLocally, ValidationException
from local_aws.hosting import autoscaling_api, provisioning
from local_aws.hosting.monitor import HostingMonitor
from local_aws.hosting.state import Endpoint, EndpointConfig, EndpointConfigStore, EndpointStore
from local_aws.routing import action
from local_aws.sagemaker.kms_keys import ENDPOINT_CONFIG_KEY_MEMBERS, require_keys
from local_aws.sagemaker.models import ModelStore
from local_aws.sagemaker.resource_actions import delete_action, describe_action, list_action

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


def _refuse_unsupported_config(params: dict) -> None:
    for member, supported in _UNSUPPORTED_CONFIG_MEMBERS.items():
        if member in params:
            raise NotSupportedLocally(member, supported)
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
        ctx.state(ModelStore).get(variant["ModelName"])


@action("sagemaker", "CreateEndpointConfig")
def create_endpoint_config(params, ctx):
    _refuse_unsupported_config(params)
    require_keys(ctx, params, ENDPOINT_CONFIG_KEY_MEMBERS)
    _check_variants(ctx, params["ProductionVariants"])
    configs = ctx.state(EndpointConfigStore)
    name = params["EndpointConfigName"]
    config = configs.add(EndpointConfig(name, configs.arn(name), params), params.get("Tags"))
    return {"EndpointConfigArn": config.arn}


describe_action("DescribeEndpointConfig", EndpointConfigStore, "EndpointConfigName")
delete_action("DeleteEndpointConfig", EndpointConfigStore, "EndpointConfigName")
list_action("ListEndpointConfigs", EndpointConfigStore, "EndpointConfigs", name_key="EndpointConfigName",
            sort_keys={"Name": "EndpointConfigName", "CreationTime": "CreationTime"}, default_order="Descending")


def _check_deployment_config(deployment_config: dict | None) -> None:
    """Blue/green all at once is what an update does; other strategies are refused, not faked."""
    if not deployment_config:
        return
    if "RollingUpdatePolicy" in deployment_config:
        raise NotSupportedLocally(
            "DeploymentConfig.RollingUpdatePolicy", "Updates are blue/green (BlueGreenUpdatePolicy ALL_AT_ONCE)."
        )
    policy = deployment_config.get("BlueGreenUpdatePolicy", {})
    routing = policy.get("TrafficRoutingConfiguration", {})
    if routing.get("Type", "ALL_AT_ONCE") != "ALL_AT_ONCE":
        raise NotSupportedLocally(
            f"blue/green traffic routing {routing['Type']}", "Traffic shifts ALL_AT_ONCE once the new fleet is healthy."
        )
    waits = routing.get("WaitIntervalInSeconds", 0) + policy.get("TerminationWaitInSeconds", 0)
    if "MaximumExecutionTimeoutInSeconds" in policy and policy["MaximumExecutionTimeoutInSeconds"] <= waits:
        raise ValidationException(
            "MaximumExecutionTimeoutInSeconds must be larger than the total waiting time of WaitIntervalInSeconds "
            f"and TerminationWaitInSeconds ({waits} s).")


@action("sagemaker", "CreateEndpoint")
def create_endpoint(params, ctx):
    config = ctx.state(EndpointConfigStore).get(params["EndpointConfigName"])
    deployment_config = params.get("DeploymentConfig")
    _check_deployment_config(deployment_config)
    endpoints = ctx.state(EndpointStore)
    name = params["EndpointName"]
    endpoint = endpoints.add(Endpoint(name, endpoints.arn(name), config, deployment_config), params.get("Tags"))
    provisioning.in_background(provisioning.run_create, ctx, endpoints, endpoint)
    ctx.state(HostingMonitor).ensure_started(ctx)
    return {"EndpointArn": endpoint.arn}


describe_action("DescribeEndpoint", EndpointStore, "EndpointName")
list_action("ListEndpoints", EndpointStore, "Endpoints", name_key="EndpointName", status_key="EndpointStatus",
            sort_keys={"Name": "EndpointName", "CreationTime": "CreationTime", "Status": "EndpointStatus"},
            default_order="Descending")


@action("sagemaker", "UpdateEndpoint")
def update_endpoint(params, ctx):
    if params.get("ExcludeRetainedVariantProperties"):
        raise NotSupportedLocally(
            "ExcludeRetainedVariantProperties", "RetainAllVariantProperties keeps instance counts and weights."
        )
    config = ctx.state(EndpointConfigStore).get(params["EndpointConfigName"])
    deployment_config = params.get("DeploymentConfig")
    _check_deployment_config(deployment_config)
    endpoints = ctx.state(EndpointStore)
    current = endpoints.get(params["EndpointName"]).config
    autoscaling_api.check_update_keeps_scaled_variants(ctx, params["EndpointName"], current.production_variants,
                                                       config.production_variants)
    with endpoints.lock:
        endpoint = endpoints.get(params["EndpointName"])
        endpoint.begin_update(config)
        counts = provisioning.initial_counts(config)
        if params.get("RetainAllVariantProperties"):
            counts.update({name: count for name, count in endpoint.desired_counts.items() if name in counts})
        if params.get("RetainDeploymentConfig"):
            deployment_config = endpoint.deployment_config
    provisioning.in_background(provisioning.run_update, ctx, endpoints, endpoint, counts, deployment_config)
    return {"EndpointArn": endpoint.arn}


@action("sagemaker", "UpdateEndpointWeightsAndCapacities")
def update_endpoint_weights_and_capacities(params, ctx):
    endpoints = ctx.state(EndpointStore)
    endpoint, counts = endpoints.change(
        params["EndpointName"], lambda endpoint: endpoint.begin_scale(params["DesiredWeightsAndCapacities"]))
    provisioning.in_background(provisioning.run_scale, ctx, endpoints, endpoint, counts)
    return {"EndpointArn": endpoint.arn}


@action("sagemaker", "DeleteEndpoint")
def delete_endpoint(params, ctx):
    endpoints = ctx.state(EndpointStore)
    endpoint, _ = endpoints.change(params["EndpointName"], Endpoint.begin_delete)
    autoscaling_api.deregister_endpoint(ctx, endpoint.name)
    provisioning.in_background(provisioning.run_delete, ctx, endpoints, endpoint)
    return {}
