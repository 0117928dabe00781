"""CloudWatch metric alarms evaluated (issue 15's pretences): moto stores alarms and never moves them; local
AWS evaluates them every (time-compressed) minute, so DescribeAlarms is truthful."""

import time
import uuid

import pytest

from local_aws.cloudwatch.alarm_rules import alarm_state


@pytest.mark.parametrize("values, treat, expected", [
    ([5.0, 6.0, 7.0], None, "ALARM"),
    ([5.0, 1.0, 7.0], None, "OK"),
    ([None, None, None], None, "INSUFFICIENT_DATA"),
    ([None, None, None], "notBreaching", "OK"),
    ([None, None, None], "breaching", "ALARM"),
    ([None, None, None], "ignore", None),
    ([None, 9.0, 9.0], "missing", "OK"),  # 2 of 3 needed 3
])
def test_the_rule_decides_as_cloudwatch_documents(values, treat, expected):
    decided = alarm_state(values, "GreaterThanThreshold", 4.0, None, treat)
    assert (decided[0] if decided else None) == expected


def test_an_alarm_goes_from_insufficient_data_to_alarm_and_back_to_ok_as_its_metric_does(aws_client, monkeypatch):
    monkeypatch.setenv("LOCAL_AWS_TIME_SCALE", "60")  # a minute lasts a second
    cloudwatch = aws_client("cloudwatch")
    name = f"errors-{uuid.uuid4().hex[:6]}"
    dimensions = [{"Name": "EndpointName", "Value": name}]
    cloudwatch.put_metric_alarm(AlarmName=name, Namespace="Test/Alarms", MetricName="Errors", Dimensions=dimensions,
                                Statistic="Sum", Period=60, EvaluationPeriods=2, DatapointsToAlarm=1, Threshold=0,
                                ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")

    def state_becomes(expected: str, within: float = 15) -> str:
        deadline = time.monotonic() + within
        while (state := cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]) != expected:
            if time.monotonic() > deadline:
                return state
            time.sleep(0.1)
        return state

    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] in ("INSUFFICIENT_DATA", "OK")
    assert state_becomes("OK") == "OK"  # no errors: not breaching
    cloudwatch.put_metric_data(Namespace="Test/Alarms", MetricData=[
        {"MetricName": "Errors", "Dimensions": dimensions, "Value": 3, "StorageResolution": 1}])
    assert state_becomes("ALARM") == "ALARM"
    assert cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateReason"].startswith(
        "Threshold Crossed: 1 of the last 2 datapoints")
    assert state_becomes("OK") == "OK"  # two periods later the error has left the window
