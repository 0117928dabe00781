"""SageMaker models: the state CreateModel makes and hosting reads.

Hosting code finds a model with `find_model(ctx, name)`; `Model.container` is its one container
(`Image`, `ModelDataUrl`, `Environment`, ...) as given to CreateModel.
"""

import datetime
import threading
from dataclasses import dataclass, field

from local_aws.clock import now
from local_aws.errors import ValidationException


@dataclass
class Model:
    name: str
    arn: str
    container: dict
    execution_role_arn: str | None
    enable_network_isolation: bool
    creation_time: datetime.datetime = field(default_factory=now)

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


class ModelState:
    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self.models: dict[str, Model] = {}


def find_model(ctx, name: str) -> Model:
    state = ctx.state(ModelState)
    with state.lock:
        model = state.models.get(name)
    if model is None:
        raise ValidationException(f'Could not find model "{ctx.arn(f"model/{name}")}".')
    return model
