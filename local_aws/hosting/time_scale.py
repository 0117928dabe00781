"""Time compression for tests: ``LOCAL_AWS_TIME_SCALE=60`` makes a metric "minute" last one second.

It applies, consistently, to what hosting measures in minutes or cooldown seconds: the metric
period and the autoscaling cooldowns. Request timeouts and health checks keep real time.
"""

from local_aws.settings import positive_setting

TIME_SCALE_VARIABLE = "LOCAL_AWS_TIME_SCALE"
METRIC_PERIOD_SECONDS = 60


def time_scale() -> float:
    return positive_setting(TIME_SCALE_VARIABLE, 1.0)


def real_seconds(aws_seconds: float) -> float:
    """How long ``aws_seconds`` of AWS time last on this machine."""
    return aws_seconds / time_scale()
