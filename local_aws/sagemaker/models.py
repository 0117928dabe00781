"""SageMaker models: the state CreateModel makes and hosting reads.

Hosting code finds a model with `ctx.state(ModelStore).get(name)`; `Model.container` is its one
container (`Image`, `ModelDataUrl`, `Environment`, ...) as given to CreateModel.
"""

import datetime
from dataclasses import dataclass, field

from local_aws.clock import now
from local_aws.exceptions import ValidationException
from local_aws.sagemaker.resources import SageMakerStore


@dataclass
class Model:
    name: str
    arn: str
    container: dict
    execution_role_arn: str | None
    enable_network_isolation: bool
    creation_time: datetime.datetime = field(default_factory=now)
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        described = {
            "ModelName": self.name,
            "ModelArn": self.arn,
            "PrimaryContainer": self.container,
            "CreationTime": self.creation_time,
            "EnableNetworkIsolation": self.enable_network_isolation,
        }
        if self.execution_role_arn:
            described["ExecutionRoleArn"] = self.execution_role_arn
        return described

    def summary(self) -> dict:
        return {"ModelName": self.name, "ModelArn": self.arn, "CreationTime": self.creation_time}


class ModelStore(SageMakerStore[Model]):
    arn_resource_type = "model"

    missing_error = ValidationException, 'Could not find model "{arn}".'
    taken_error = ValidationException, 'Cannot create already existing model "{arn}".'
