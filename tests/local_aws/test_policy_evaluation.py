"""IAM policy evaluation (issue 14, "IAM, evaluated for real"): statements matched as AWS's documentation
says, where moto's matcher does not (regex characters in patterns, failed conditions on an Allow, unknown
operators), and identity, resource, boundary and session policies combined in AWS's order."""

import pytest

from local_aws.access.authorization import Identity, decide
from local_aws.access.policy_evaluation import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Caller,
    Policy,
    PolicyEvaluationError,
    evaluate,
    wildcard_match,
)

ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dog-breed"
ROLE = "arn:aws:iam::123456789012:role/front-door"
CALLER = Caller("arn:aws:sts::123456789012:assumed-role/front-door/s", ROLE, "123456789012")


def policy(*statements, source="test") -> Policy:
    return Policy(source, {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action="sagemaker:InvokeEndpoint", resource=ENDPOINT, **more) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action="sagemaker:InvokeEndpoint", resource=ENDPOINT, **more) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def decision(*statements, action="sagemaker:InvokeEndpoint", resource=ENDPOINT, context=None) -> str:
    return evaluate([policy(*statements)], action, resource, context or {}).decision


def test_actions_match_without_case_and_resources_with_it_and_only_star_and_question_mark_are_wildcards():
    assert decision(allow(action="SageMaker:invoke*")) == ALLOWED
    assert decision(allow(resource=ENDPOINT.upper())) == IMPLICIT_DENY
    assert decision(allow(resource="arn:aws:sagemaker:*:123456789012:endpoint/dog-bree?")) == ALLOWED
    # moto turns the pattern into a regular expression unescaped: its "." matches any character
    assert not wildcard_match("arn:aws:s3:::a.b", "arn:aws:s3:::aXb")
    assert not wildcard_match("arn:aws:s3:::a+", "arn:aws:s3:::aa")
    assert decision(allow(resource=[ENDPOINT + "-other", ENDPOINT])) == ALLOWED


def test_an_explicit_deny_wins_and_names_its_statement():
    evaluation = evaluate([policy(allow(resource="*")), policy(deny(), source="deny-it")],
                          "sagemaker:InvokeEndpoint", ENDPOINT, {})
    assert evaluation.decision == EXPLICIT_DENY
    assert [(m.policy.source, m.index, m.effect) for m in evaluation.matched] == [("deny-it", 0, "Deny")]


def test_not_action_and_not_resource_cover_everything_else():
    everything_but_delete = {"Effect": "Allow", "NotAction": "sagemaker:Delete*", "Resource": "*"}
    assert decision(everything_but_delete) == ALLOWED
    assert decision(everything_but_delete, action="sagemaker:DeleteEndpoint") == IMPLICIT_DENY
    assert decision({"Effect": "Deny", "Action": "*", "NotResource": ENDPOINT}, allow(resource="*")) == ALLOWED
    assert decision({"Effect": "Deny", "Action": "*", "NotResource": ENDPOINT}, allow(resource="*"),
                    resource=ENDPOINT + "-x") == EXPLICIT_DENY


def test_a_condition_that_does_not_hold_makes_its_allow_not_apply_rather_than_deny():
    from_loopback = allow(Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})
    assert decision(from_loopback, context={"aws:SourceIp": "127.0.0.1"}) == ALLOWED
    assert decision(from_loopback, context={"aws:SourceIp": "10.1.2.3"}) == IMPLICIT_DENY
    assert decision(from_loopback, allow(resource="*"), context={"aws:SourceIp": "10.1.2.3"}) == ALLOWED


@pytest.mark.parametrize("condition, context, holds", [
    ({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}, {}, False),  # a missing key never equals
    ({"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}, {}, True),  # ... and is never equal
    ({"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}}, {}, True),
    ({"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}}, {"aws:RequestedRegion": "us-east-1"}, False),
    ({"StringEquals": {"AWS:requestedregion": ["eu-west-1", "us-east-1"]}}, {"aws:RequestedRegion": "us-east-1"},
     True),  # keys match without case; any of the values
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/front-*"}}, {"aws:PrincipalArn": ROLE}, True),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}, {"aws:PrincipalArn": ROLE}, True),
    ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}, {"aws:PrincipalArn": ROLE}, False),
    ({"Null": {"aws:SourceIp": "true"}}, {}, True),
    ({"Null": {"aws:SourceIp": "false"}}, {}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, True),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "false"}, False),
    ({"NumericLessThan": {"sagemaker:MaxRuntimeInSeconds": "3600"}}, {"sagemaker:MaxRuntimeInSeconds": "60"}, True),
    ({"NumericLessThan": {"sagemaker:MaxRuntimeInSeconds": "3600"}}, {"sagemaker:MaxRuntimeInSeconds": "x"}, False),
    ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, {"aws:CurrentTime": "2026-12-03T10:00:00Z"},
     True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "stage"]}}, {"aws:TagKeys": ["team"]}, True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, {"aws:TagKeys": ["team", "cost"]}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, {}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, {"aws:TagKeys": ["cost", "team"]}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, {}, False),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["team", "cost"]}, True),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}, {"aws:TagKeys": ["team", "secret"]}, False),
])
def test_condition_operators_follow_the_documented_rules(condition, context, holds):
    assert decision(allow(Condition=condition), context=context) == (ALLOWED if holds else IMPLICIT_DENY)


def test_an_operator_local_aws_does_not_know_is_an_error_not_a_match():
    with pytest.raises(PolicyEvaluationError, match="StringSoundsLike"):
        decision(deny(Condition={"StringSoundsLike": {"aws:username": "bob"}}))


def test_policy_variables_are_filled_from_the_request_and_a_missing_one_matches_nothing():
    own = allow(resource="arn:aws:sagemaker:us-east-1:123456789012:endpoint/${aws:username}-*")
    assert decision(own, resource=ENDPOINT.replace("dog-breed", "ana-dogs"), context={"aws:username": "ana"}) == ALLOWED
    assert decision(own, resource=ENDPOINT.replace("dog-breed", "bob-dogs"), context={"aws:username": "ana"}) \
        == IMPLICIT_DENY
    assert decision(own, resource=ENDPOINT.replace("dog-breed", "-dogs")) == IMPLICIT_DENY


def test_a_resource_policys_principal_names_the_role_its_sessions_or_the_account():
    for principal in ({"AWS": ROLE}, {"AWS": CALLER.arn}, {"AWS": "123456789012"}, {"AWS": [
            "arn:aws:iam::123456789012:root"]}, "*"):
        found = evaluate([policy(allow(Principal=principal))], "sagemaker:InvokeEndpoint", ENDPOINT, {}, CALLER)
        assert found.decision == ALLOWED, principal
    for principal in ({"AWS": "arn:aws:iam::123456789012:role/other"}, {"Service": "lambda.amazonaws.com"},
                      {"AWS": "210987654321"}):
        found = evaluate([policy(allow(Principal=principal))], "sagemaker:InvokeEndpoint", ENDPOINT, {}, CALLER)
        assert found.decision == IMPLICIT_DENY, principal


def identity(*policies, boundary=None, session=None) -> Identity:
    return Identity(CALLER, "AssumedRole", "AROA:s", tuple(policies), boundary, session)


def test_within_the_account_either_the_identity_or_the_resource_policy_may_allow_and_across_both_must():
    function = "arn:aws:lambda:us-east-1:123456789012:function:f"
    granted = policy(allow("lambda:InvokeFunction", function, Principal={"AWS": ROLE}))
    assert decide(identity(), "lambda:InvokeFunction", function, {}, [granted]).allowed
    to_the_account = policy(allow("lambda:InvokeFunction", function, Principal={"AWS": "123456789012"}))
    assert not decide(identity(), "lambda:InvokeFunction", function, {}, [to_the_account]).allowed
    found = decide(identity(), "lambda:InvokeFunction", function, {})
    assert (found.decision, found.reason) == (
        IMPLICIT_DENY, "because no identity-based policy allows the lambda:InvokeFunction action")
    elsewhere = function.replace("123456789012", "210987654321")
    granted_elsewhere = policy(allow("lambda:InvokeFunction", elsewhere, Principal={"AWS": ROLE}))
    assert not decide(identity(), "lambda:InvokeFunction", elsewhere, {}, [granted_elsewhere], "210987654321").allowed
    mine = policy(allow("lambda:InvokeFunction", elsewhere))
    assert not decide(identity(mine), "lambda:InvokeFunction", elsewhere, {}, [], "210987654321").allowed
    assert decide(identity(mine), "lambda:InvokeFunction", elsewhere, {}, [granted_elsewhere], "210987654321").allowed


def test_a_boundary_and_a_session_policy_limit_what_the_identity_policies_allow():
    everything = policy(allow("*", "*"))
    only_invoke = policy(allow("sagemaker:InvokeEndpoint", "*"))
    assert decide(identity(everything, boundary=only_invoke), "sagemaker:InvokeEndpoint", ENDPOINT, {}).allowed
    bounded = decide(identity(everything, boundary=only_invoke), "sagemaker:DeleteEndpoint", ENDPOINT, {})
    assert bounded.reason == "because no permissions boundary allows the sagemaker:DeleteEndpoint action"
    session = decide(identity(everything, session=only_invoke), "sagemaker:DeleteEndpoint", ENDPOINT, {})
    assert session.reason == "because no session policy allows the sagemaker:DeleteEndpoint action"
    denied = decide(identity(everything, boundary=policy(deny(), allow("*", "*"))), "sagemaker:InvokeEndpoint",
                    ENDPOINT, {})
    assert denied.reason == "with an explicit deny in a permissions boundary"
