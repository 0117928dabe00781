"""Endpoint configurations and endpoints of one account and region, and their wire shapes.

State only: what runs an endpoint is :mod:`local_aws.hosting.provisioning`, which moves an
endpoint through its statuses; the resources here describe themselves as DescribeEndpoint and
DescribeEndpointConfig answer.
"""

import datetime
import threading
from dataclasses import dataclass, field

from local_aws.clock import now
from local_aws.errors import ValidationException
from local_aws.hosting.deployment import Deployment
from local_aws.hosting.metrics import InvocationMetrics

CREATING, UPDATING, IN_SERVICE, FAILED, DELETING = "Creating", "Updating", "InService", "Failed", "Deleting"


def sagemaker_arn(region: str, account_id: str, kind: str, name: str) -> str:
    # SageMaker lower-cases resource names in ARNs.
    return f"arn:aws:sagemaker:{region}:{account_id}:{kind}/{name.lower()}"


@dataclass
class EndpointConfig:
    name: str
    arn: str
    request: dict  # the CreateEndpointConfig parameters, which DescribeEndpointConfig echoes
    creation_time: datetime.datetime = field(default_factory=now)

    @property
    def production_variants(self) -> list[dict]:
        return self.request["ProductionVariants"]

    def describe(self) -> dict:
        described = {key: value for key, value in self.request.items() if key != "Tags"}
        return {**described, "EndpointConfigArn": self.arn, "CreationTime": self.creation_time}

    def summary(self) -> dict:
        return {
            "EndpointConfigName": self.name,
            "EndpointConfigArn": self.arn,
            "CreationTime": self.creation_time,
        }


@dataclass
class Endpoint:
    name: str
    arn: str
    config: EndpointConfig
    deployment_config: dict | None
    status: str = CREATING
    failure_reason: str | None = None
    creation_time: datetime.datetime = field(default_factory=now)
    last_modified_time: datetime.datetime = field(default_factory=now)
    # What serves requests right now (None until the first deployment is healthy).
    deployment: Deployment | None = None
    pending_config: EndpointConfig | None = None
    pending_since: datetime.datetime | None = None
    # Per variant, the instance count asked for (by the config, autoscaling or the API).
    desired_counts: dict[str, int] = field(default_factory=dict)
    metrics: InvocationMetrics = field(default_factory=InvocationMetrics)

    def set_status(self, status: str, failure_reason: str | None = None) -> None:
        self.status = status
        self.failure_reason = failure_reason
        self.last_modified_time = now()

    def describe(self) -> dict:
        described = {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "EndpointConfigName": self.config.name,
            "EndpointStatus": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.deployment is not None:
            described["ProductionVariants"] = [
                self._variant_summary(variant) for variant in self.config.production_variants
            ]
        if self.failure_reason:
            described["FailureReason"] = self.failure_reason
        if self.deployment_config:
            described["LastDeploymentConfig"] = self.deployment_config
        if self.pending_config is not None:
            described["PendingDeploymentSummary"] = {
                "EndpointConfigName": self.pending_config.name,
                "ProductionVariants": [
                    {
                        "VariantName": variant["VariantName"],
                        "DesiredInstanceCount": variant["InitialInstanceCount"],
                        "DesiredWeight": variant.get("InitialVariantWeight", 1.0),
                        "VariantStatus": [{"Status": CREATING, "StartTime": self.pending_since}],
                    }
                    for variant in self.pending_config.production_variants
                ],
                "StartTime": self.pending_since,
            }
        return described

    def _variant_summary(self, variant: dict) -> dict:
        name = variant["VariantName"]
        weight = self.deployment.weights[name]
        return {
            "VariantName": name,
            "CurrentWeight": weight,
            "DesiredWeight": weight,
            "CurrentInstanceCount": self.deployment.fleets[name].instance_count,
            "DesiredInstanceCount": self.desired_counts[name],
        }

    def summary(self) -> dict:
        return {
            "EndpointName": self.name,
            "EndpointArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "EndpointStatus": self.status,
        }


class HostingState:
    """Name-keyed endpoint configs and endpoints of one account and region."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        self.lock = threading.RLock()
        self.endpoint_configs: dict[str, EndpointConfig] = {}
        self.endpoints: dict[str, Endpoint] = {}

    def config_arn(self, name: str) -> str:
        return sagemaker_arn(self.region, self.account_id, "endpoint-config", name)

    def endpoint_arn(self, name: str) -> str:
        return sagemaker_arn(self.region, self.account_id, "endpoint", name)

    def add_config(self, name: str, request: dict) -> EndpointConfig:
        with self.lock:
            if name in self.endpoint_configs:
                raise ValidationException(
                    f'Cannot create already existing endpoint configuration "{self.config_arn(name)}".'
                )
            config = EndpointConfig(name, self.config_arn(name), request)
            self.endpoint_configs[name] = config
            return config

    def get_config(self, name: str) -> EndpointConfig:
        with self.lock:
            if name not in self.endpoint_configs:
                raise ValidationException(f'Could not find endpoint configuration "{self.config_arn(name)}".')
            return self.endpoint_configs[name]

    def delete_config(self, name: str) -> None:
        with self.lock:
            self.get_config(name)
            del self.endpoint_configs[name]

    def add_endpoint(self, name: str, config: EndpointConfig, deployment_config: dict | None) -> Endpoint:
        with self.lock:
            if name in self.endpoints:
                raise ValidationException(f'Cannot create already existing endpoint "{self.endpoint_arn(name)}".')
            endpoint = Endpoint(name, self.endpoint_arn(name), config, deployment_config)
            self.endpoints[name] = endpoint
            return endpoint

    def get_endpoint(self, name: str) -> Endpoint:
        with self.lock:
            if name not in self.endpoints:
                raise ValidationException(f'Could not find endpoint "{self.endpoint_arn(name)}".')
            return self.endpoints[name]

    def find_endpoint(self, name: str) -> Endpoint | None:
        with self.lock:
            return self.endpoints.get(name)

    def remove_endpoint(self, endpoint: Endpoint) -> None:
        with self.lock:
            if self.endpoints.get(endpoint.name) is endpoint:
                del self.endpoints[endpoint.name]
