"""Application Auto Scaling's scaling activities for SageMaker variants: what the hosting monitor scaled, when and
why, answered by `DescribeScalingActivities` as AWS answers it (newest first, paged), which moto does not implement.

An activity starts `InProgress` when the monitor asks for a new `DesiredInstanceCount` and ends `Successful` once
the endpoint is `InService` with that many instances, or `Failed` if the request is refused or the endpoint goes.
Its wording is AWS's ("Setting desired instance count to 3."); its `Cause` names the policy and the rule that
fired, since local AWS evaluates target tracking itself rather than through CloudWatch alarms.
"""

import datetime
import threading
import uuid
from dataclasses import dataclass, field

from local_aws.hosting import state
from local_aws.hosting.autoscaling import NAMESPACE, SCALABLE_DIMENSION

IN_PROGRESS, SUCCESSFUL, FAILED = "InProgress", "Successful", "Failed"
KEPT_PER_RESOURCE = 100  # the newest; AWS keeps six weeks of them
MAX_RESULTS = 50  # DescribeScalingActivities' default and maximum page


@dataclass
class ScalingActivity:
    resource_id: str
    desired: int
    cause: str
    activity_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    start_time: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc))
    end_time: datetime.datetime | None = None
    status: str = IN_PROGRESS
    status_message: str = ""

    def end(self, status: str, message: str) -> None:
        self.status, self.status_message = status, message
        self.end_time = datetime.datetime.now(datetime.timezone.utc)

    def shape(self) -> dict:
        shaped = {"ActivityId": self.activity_id, "ServiceNamespace": NAMESPACE, "ResourceId": self.resource_id,
                  "ScalableDimension": SCALABLE_DIMENSION,
                  "Description": f"Setting desired instance count to {self.desired}.", "Cause": self.cause,
                  "StartTime": self.start_time.timestamp(), "StatusCode": self.status}
        if self.end_time is not None:
            shaped["EndTime"] = self.end_time.timestamp()
        if self.status_message:
            shaped["StatusMessage"] = self.status_message
        return shaped


class ScalingActivities:
    """One account and region's activities (``ctx.state(ScalingActivities)``)."""

    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self._by_resource: dict[str, list[ScalingActivity]] = {}

    def started(self, resource_id: str, desired: int, cause: str) -> ScalingActivity:
        activity = ScalingActivity(resource_id, desired, cause)
        with self.lock:
            kept = self._by_resource.setdefault(resource_id, [])
            kept.append(activity)
            del kept[:-KEPT_PER_RESOURCE]
        return activity

    def in_progress(self) -> list[ScalingActivity]:
        with self.lock:
            return [a for kept in self._by_resource.values() for a in kept if a.status == IN_PROGRESS]

    def newest_first(self, resource_id: str | None = None) -> list[ScalingActivity]:
        with self.lock:
            chosen = [a for rid, kept in self._by_resource.items() if resource_id in (None, rid) for a in kept]
        return sorted(chosen, key=lambda activity: activity.start_time, reverse=True)


def settle(activity: ScalingActivity, status: str | None, current: int | None) -> None:
    """End an activity whose endpoint has reached its count (``status`` and ``current``: None when it is gone)."""
    if status is None:
        activity.end(FAILED, "Failed to set desired instance count: the endpoint no longer exists.")
    elif status == state.IN_SERVICE and current == activity.desired:
        activity.end(SUCCESSFUL, f"Successfully set desired instance count to {activity.desired}. "
                                 "Change successfully fulfilled by sagemaker.")
    elif status == state.FAILED:
        activity.end(FAILED, f"Failed to set desired instance count to {activity.desired}: the endpoint failed.")
