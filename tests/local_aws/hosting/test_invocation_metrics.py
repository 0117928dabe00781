"""One period of one variant's invocations as the CloudWatch datums SageMaker publishes."""

import datetime

from local_aws.hosting.invocation_metrics import NAMESPACE, InvocationMetrics, VariantPeriod, metric_data

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def test_a_period_becomes_the_six_sagemaker_metrics_with_endpoint_and_variant_dimensions():
    metrics = InvocationMetrics()
    metrics.record("AllTraffic", status=200, model_latency=0.010, overhead_latency=0.001)
    metrics.record("AllTraffic", status=415, model_latency=0.002, overhead_latency=0.003)
    metrics.record("AllTraffic", status=500)  # a container that timed out or died: no latency
    [(variant, period)] = metrics.collect().items()
    assert metrics.collect() == {}  # collecting starts a new period

    data = {datum["MetricName"]: datum for datum in metric_data("shop", variant, period, 2, NOW, 60)}
    assert NAMESPACE == "AWS/SageMaker"
    assert set(data) == {"Invocations", "InvocationsPerInstance", "ModelLatency", "OverheadLatency",
                         "Invocation4XXErrors", "Invocation5XXErrors"}
    for datum in data.values():
        assert datum["Dimensions"] == [{"Name": "EndpointName", "Value": "shop"},
                                       {"Name": "VariantName", "Value": "AllTraffic"}]
        assert datum["Timestamp"] == NOW
    assert [data[name]["Value"] for name in ("Invocations", "InvocationsPerInstance", "Invocation4XXErrors",
                                              "Invocation5XXErrors")] == [3, 1.5, 1, 1]
    assert data["ModelLatency"]["Unit"] == "Microseconds"
    assert data["ModelLatency"]["StatisticValues"] == {"SampleCount": 2, "Sum": 12_000.0, "Minimum": 2_000.0,
                                                       "Maximum": 10_000.0}
    assert data["OverheadLatency"]["StatisticValues"]["Sum"] == 4_000.0


def test_an_idle_period_still_reports_zero_counts_for_target_tracking():
    data = metric_data("shop", "AllTraffic", VariantPeriod(), 3, NOW, 1)
    assert {datum["MetricName"]: datum["Value"] for datum in data} == {
        "Invocations": 0, "InvocationsPerInstance": 0.0, "Invocation4XXErrors": 0, "Invocation5XXErrors": 0}
    assert {datum["StorageResolution"] for datum in data} == {1}
