"""EndpointAutoscalingOperator (issue 16): registers an endpoint variant with Application Auto Scaling and a
target-tracking policy, against local AWS; a second run changes nothing, a changed setting is applied, bad
settings are refused naming them; its requests are valid for botocore's model."""

import botocore.session
import pytest
from botocore.validate import validate_parameters

from dog_breed.autoscaling_requests import VariantScaling, policy_request, target_request
from local_aws_testing import unique_name


def test_the_requests_are_valid_for_botocores_model():
    model = botocore.session.get_session().get_service_model("application-autoscaling")
    scaling = VariantScaling("dog-breed")
    validate_parameters(target_request(scaling), model.operation_model("RegisterScalableTarget").input_shape)
    validate_parameters(policy_request(scaling), model.operation_model("PutScalingPolicy").input_shape)
    assert (scaling.min_capacity, scaling.max_capacity, scaling.target_value, scaling.scale_in_cooldown,
            scaling.scale_out_cooldown) == (1, 3, 100.0, 30, 30)  # the user's settings


def test_the_operator_registers_once_then_leaves_alone_then_applies_a_change(aws_env):
    from dog_breed.autoscaling_hook import EndpointAutoscalingHook
    from dog_breed.autoscaling_operator import EndpointAutoscalingOperator

    endpoint = unique_name("scaled")

    def run(**settings) -> dict:
        return EndpointAutoscalingOperator(task_id="autoscale", endpoint_name=endpoint, aws_conn_id=None,
                                           **settings).execute(context={})

    first = run()
    assert first["Changed"] and first["ResourceId"] == f"endpoint/{endpoint}/variant/AllTraffic"
    assert (first["ScalableTarget"]["MinCapacity"], first["ScalableTarget"]["MaxCapacity"]) == (1, 3)
    tracking = first["ScalingPolicy"]["TargetTrackingScalingPolicyConfiguration"]
    assert (tracking["TargetValue"], tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (100.0, 30, 30)
    assert run()["Changed"] is False  # a re-run or a cleared task changes nothing
    changed = run(max_capacity="4", target_value="50")  # as Jinja renders them
    assert changed["Changed"] and changed["ScalableTarget"]["MaxCapacity"] == 4
    assert changed["ScalingPolicy"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 50.0
    hook = EndpointAutoscalingHook(aws_conn_id=None)
    assert hook.deregister(VariantScaling(endpoint)) and hook.target(VariantScaling(endpoint)) is None


@pytest.mark.parametrize("settings, named", [({"min_capacity": 0}, "min_capacity"),
                                             ({"min_capacity": 4, "max_capacity": 3}, "max_capacity"),
                                             ({"target_value": -1}, "target_value"),
                                             ({"scale_in_cooldown": "soon"}, "must be numbers")])
def test_bad_settings_are_refused_naming_them(aws_env, settings, named):
    from airflow.providers.common.compat.sdk import AirflowException

    from dog_breed.autoscaling_operator import EndpointAutoscalingOperator

    with pytest.raises(AirflowException, match=named):
        EndpointAutoscalingOperator(task_id="autoscale", endpoint_name="e", aws_conn_id=None, **settings).execute(
            context={})
