"""IAM's policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy), which moto answers with an HTML 500:
answered by the evaluation that authorises local AWS's own requests, in IAM's shape, down to where each
statement stands in its policy's text, and checked the way the SageMaker Python SDK checks a role."""

import json
import uuid
import xml.etree.ElementTree as ElementTree

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_aws_testing import SAGEMAKER_TRUST, TRAINING_IMAGE, sdk_role, sdk_session

ACCOUNT = "123456789012"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
ACCOUNT_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
# AWS CLI's documented examples: their documents and the positions IAM answers for them.
CODECOMMIT_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Grant-Access-To-CodeCommit-ListRepo", "Effect": "Allow", "Action": "codecommit:ListRepositories",
     "Resource": "*"}]}, indent=4)
DYNAMODB_POLICY = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
                   '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def refusal(call, **params) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


@pytest.fixture
def iam(local_aws):
    """An IAM client whose every simulation answer is also checked member by member against IAM's output shape."""
    client = boto3.client("iam", config=NO_RETRY, **local_aws.client_kwargs)
    client.meta.events.register("after-call.iam.SimulatePrincipalPolicy", _members_of_the_shape)
    client.meta.events.register("after-call.iam.SimulateCustomPolicy", _members_of_the_shape)
    return client


def _members_of_the_shape(http_response, model, **_):
    """botocore drops an element its model does not have: a misspelt member would pass unseen."""
    if http_response.status_code != 200:
        return
    root = ElementTree.fromstring(http_response.content)
    result = next(child for child in root if child.tag.endswith("Result"))
    _check(result, model.output_shape, model.name)


def _check(element, shape, path):
    for child in element:
        name = child.tag.rpartition("}")[2]
        if shape.type_name == "structure":
            assert name in shape.members, f"{path}.{name} is not a member of {shape.name}"
            _check(child, shape.members[name], f"{path}.{name}")
        elif shape.type_name == "list":
            assert name == "member", f"{path}: {name} in a list"
            _check(child, shape.member, f"{path}[]")
        elif shape.type_name == "map":
            parts = [part.tag.rpartition("}")[2] for part in child]
            assert name == "entry" and parts == ["key", "value"], f"{path}: {name} {parts} in a map"


def role_with(iam, *statements, trust=SAGEMAKER_TRUST, document: str | None = None) -> tuple[str, str]:
    """A role with one inline policy (`document`, else the statements): its ARN and the policy's name."""
    name, policy_name = unique("sim-role"), unique("inline")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if statements or document:
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document or policy(*statements))
    return arn, policy_name


def test_an_inline_policy_allowing_get_object_is_the_matched_statement_at_its_place_in_the_text(iam):
    role, policy_name = role_with(iam, document=CODECOMMIT_POLICY.replace(
        '"codecommit:ListRepositories",\n            "Resource": "*"',
        '"s3:GetObject",\n            "Resource": "arn:aws:s3:::sim-bucket/*"'))
    answer = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject"],
                                           ResourceArns=["arn:aws:s3:::sim-bucket/data/1.txt"])
    matched = [{"SourcePolicyId": f"role_{role.rsplit('/', 1)[1]}_{policy_name}", "SourcePolicyType": "IAM Policy",
                # the AWS CLI's example of this layout answers these positions
                "StartPosition": {"Line": 3, "Column": 19}, "EndPosition": {"Line": 9, "Column": 10}}]
    assert answer["EvaluationResults"] == [{
        "EvalActionName": "s3:GetObject", "EvalResourceName": "arn:aws:s3:::sim-bucket/data/1.txt",
        "EvalDecision": "allowed", "MatchedStatements": matched, "MissingContextValues": [],
        "EvalDecisionDetails": {},
        "ResourceSpecificResults": [{"EvalResourceName": "arn:aws:s3:::sim-bucket/data/1.txt",
                                     "EvalResourceDecision": "allowed", "MatchedStatements": matched,
                                     "MissingContextValues": [], "EvalDecisionDetails": {}}]}]
    assert answer["IsTruncated"] is False and "Marker" not in answer
    other_bucket = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject"],
                                                 ResourceArns=["arn:aws:s3:::other-bucket/data/1.txt"])
    assert other_bucket["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"


def test_an_explicit_deny_in_an_attached_managed_policy_wins_and_is_the_only_statement_named(iam):
    role, _ = role_with(iam, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    managed = iam.create_policy(PolicyName=unique("deny-delete"), PolicyDocument=policy(
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}))["Policy"]
    iam.attach_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyArn=managed["Arn"])
    result, = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:DeleteObject"])["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert [(statement["SourcePolicyId"], statement["SourcePolicyType"]) for statement in result["MatchedStatements"]
            ] == [(managed["PolicyName"], "IAM Policy")]
    assert result["EvalResourceName"] == "*"
    assert "ResourceSpecificResults" not in result and "EvalDecisionDetails" not in result  # as AWS for `*`


def test_an_action_no_policy_names_is_an_implicit_deny_with_no_statement(iam):
    role, _ = role_with(iam, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    result, = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["sqs:SendMessage"])["EvaluationResults"]
    assert (result["EvalDecision"], result["MatchedStatements"], result["MissingContextValues"]) == (
        "implicitDeny", [], [])


def test_a_condition_on_a_key_the_context_lacks_is_a_missing_context_value_until_it_is_given(iam):
    role, _ = role_with(
        iam, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::sim-bucket/${aws:username}/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}})
    results = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject", "s3:PutObject"],
                                            ResourceArns=["arn:aws:s3:::sim-bucket/ana/1.txt"])["EvaluationResults"]
    # The statement on sqs does not apply to these actions: its key is not asked for.
    assert [(result["EvalDecision"], result["MissingContextValues"]) for result in results] == [
        ("implicitDeny", ["aws:username"]), ("implicitDeny", ["aws:SourceIp"])]
    assert results[1]["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:SourceIp"]
    given = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::sim-bucket/ana/1.txt"],
        ContextEntries=[{"ContextKeyName": "aws:username", "ContextKeyValues": ["ana"], "ContextKeyType": "string"},
                        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}])
    assert [(result["EvalDecision"], result["MissingContextValues"]) for result in given["EvaluationResults"]] == [
        ("allowed", []), ("allowed", [])]


def test_a_users_group_policy_and_its_own_are_both_its_policies(iam):
    user, group = unique("sim-user"), unique("sim-group")
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="reads", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    iam.put_user_policy(UserName=user, PolicyName="writes", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}))
    results = iam.simulate_principal_policy(PolicySourceArn=user_arn, ActionNames=["s3:GetObject", "s3:PutObject"]
                                            )["EvaluationResults"]
    assert [(result["EvalDecision"], [statement["SourcePolicyId"] for statement in result["MatchedStatements"]])
            for result in results] == [("allowed", [f"group_{group}_reads"]), ("allowed", [f"user_{user}_writes"])]
    group_arn = iam.get_group(GroupName=group)["Group"]["Arn"]
    of_the_group = iam.simulate_principal_policy(PolicySourceArn=group_arn, ActionNames=["s3:GetObject",
                                                                                         "s3:PutObject"])
    assert [result["EvalDecision"] for result in of_the_group["EvaluationResults"]] == ["allowed", "implicitDeny"]


def test_a_custom_policy_is_answered_as_the_aws_cli_documents_it(iam):
    def simulated(now: str) -> list[dict]:
        return iam.simulate_custom_policy(
            PolicyInputList=[DYNAMODB_POLICY], ActionNames=["dynamodb:CreateBackup"],
            ContextEntries=[{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": [now],
                             "ContextKeyType": "date"}])["EvaluationResults"]

    assert simulated("2019-04-25T11:00:00Z") == [{
        "EvalActionName": "dynamodb:CreateBackup", "EvalResourceName": "*", "EvalDecision": "allowed",
        "MatchedStatements": [{"SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "IAM Policy",
                               "StartPosition": {"Line": 1, "Column": 38},
                               "EndPosition": {"Line": 1, "Column": 167}}],
        "MissingContextValues": []}]
    assert simulated("2014-04-25T11:00:00Z") == [{
        "EvalActionName": "dynamodb:CreateBackup", "EvalResourceName": "*", "EvalDecision": "implicitDeny",
        "MatchedStatements": [], "MissingContextValues": []}]
    no_time, = iam.simulate_custom_policy(PolicyInputList=[DYNAMODB_POLICY], ActionNames=["dynamodb:CreateBackup"]
                                          )["EvaluationResults"]
    assert no_time["MissingContextValues"] == ["aws:CurrentTime"]  # the simulator fills in no time of its own


def test_a_resource_policy_takes_part_with_each_policy_types_decision(iam):
    caller = f"arn:aws:iam::{ACCOUNT}:user/{unique('reader')}"
    bucket_policy = policy({"Effect": "Allow", "Principal": {"AWS": caller}, "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::shared/*"})
    result, = iam.simulate_custom_policy(
        PolicyInputList=[policy({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})],
        ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/report.csv"], ResourcePolicy=bucket_policy,
        CallerArn=caller)["EvaluationResults"]
    # Within one account, a resource policy naming the caller allows on its own.
    assert result["EvalDecision"] == "allowed"
    assert [(statement["SourcePolicyId"], statement["SourcePolicyType"]) for statement in result["MatchedStatements"]
            ] == [("ResourcePolicy", "resource")]
    assert result["EvalDecisionDetails"] == {"identity-based policy": "implicitDeny",
                                             "resource-based policy": "allowed"}
    other_account = "arn:aws:iam::111122223333:user/visitor"
    across = iam.simulate_custom_policy(
        PolicyInputList=[policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})],
        ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::shared/report.csv"], CallerArn=other_account,
        ResourceOwner=f"arn:aws:iam::{ACCOUNT}:root")["EvaluationResults"][0]
    # Across accounts both sides must allow: no resource policy, no access.
    assert (across["EvalDecision"], across["EvalDecisionDetails"]) == (
        "implicitDeny", {"identity-based policy": "allowed", "resource-based policy": "implicitDeny"})
    assert refusal(iam.simulate_custom_policy, PolicyInputList=[policy()], ActionNames=["s3:GetObject"],
                   ResourcePolicy=bucket_policy)[:2] == ("InvalidInput", 400)  # no CallerArn to match Principal


def test_a_permissions_boundary_limits_the_role_and_an_input_boundary_replaces_it(iam):
    role, _ = role_with(iam, {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"})
    boundary = iam.create_policy(PolicyName=unique("boundary"), PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName=role.rsplit("/", 1)[1], PermissionsBoundary=boundary)
    results = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["s3:GetObject", "s3:PutObject"]
                                            )["EvaluationResults"]
    assert [(result["EvalDecision"], result["PermissionsBoundaryDecisionDetail"], len(result["MatchedStatements"]))
            for result in results] == [("allowed", {"AllowedByPermissionsBoundary": True}, 1),
                                       ("implicitDeny", {"AllowedByPermissionsBoundary": False}, 0)]
    replaced = iam.simulate_principal_policy(
        PolicySourceArn=role, ActionNames=["s3:PutObject"],
        PermissionsBoundaryPolicyInputList=[policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})])
    assert replaced["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_max_items_pages_the_results_and_the_paginator_reads_them_all(iam):
    role, _ = role_with(iam, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    actions = ["s3:GetObject", "s3:PutObject", "sqs:SendMessage"]
    first = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2)
    assert [result["EvalActionName"] for result in first["EvaluationResults"]] == actions[:2]
    assert first["IsTruncated"] is True
    rest = iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=actions, MaxItems=2,
                                         Marker=first["Marker"])
    assert ([result["EvalActionName"] for result in rest["EvaluationResults"]], rest["IsTruncated"]) == (
        actions[2:], False)
    assert "Marker" not in rest
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=role, ActionNames=actions, ResourceArns=["arn:aws:s3:::a/1", "arn:aws:s3:::b/1"],
        PaginationConfig={"PageSize": 4})
    assert [len(page["EvaluationResults"]) for page in pages] == [4, 2]
    code, status, _ = refusal(iam.simulate_principal_policy, PolicySourceArn=role, ActionNames=actions,
                              Marker="not-a-marker")
    assert (code, status) == ("InvalidInput", 400)


def test_a_role_that_does_not_exist_is_no_such_entity(iam):
    assert refusal(iam.simulate_principal_policy, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/no-such-role",
                   ActionNames=["s3:GetObject"]) == (
        "NoSuchEntity", 404, "The role with name no-such-role cannot be found.")
    code, status, message = refusal(iam.simulate_principal_policy, PolicySourceArn="arn:aws:s3:::not-an-iam-entity",
                                    ActionNames=["s3:GetObject"])
    assert (code, status) == ("InvalidInput", 400) and "not the ARN of an IAM user, group or role" in message


def test_a_policy_that_is_not_json_or_malformed_or_not_evaluable_is_invalid_input_naming_it(iam):
    assert refusal(iam.simulate_custom_policy, PolicyInputList=["Allow everything"], ActionNames=["s3:GetObject"]) == (
        "InvalidInput", 400, "The simulation is refused: policy PolicyInputList.1 is not a JSON document.")
    code, _, message = refusal(iam.simulate_custom_policy, ActionNames=["s3:GetObject"], PolicyInputList=[
        policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), policy({"Effect": "Allow"})])
    assert code == "InvalidInput" and "PolicyInputList.2" in message and "must contain actions" in message
    code, _, message = refusal(iam.simulate_custom_policy, ActionNames=["s3:GetObject"], PolicyInputList=[policy(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
         "Condition": {"StringEqualsMaybe": {"aws:username": "ana"}}})])
    assert code == "InvalidInput" and "condition operator 'StringEqualsMaybe'" in message
    code, _, message = refusal(iam.simulate_custom_policy, PolicyInputList=[policy()], ActionNames=["s3:GetObject"],
                               ResourceHandlingOption="EC2-VPC-InstanceStore")
    assert code == "InvalidInput" and "does not simulate ResourceHandlingOption" in message
    code, _, message = refusal(
        iam.simulate_custom_policy, ActionNames=["s3:ListBucket"],
        PolicyInputList=[policy({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})],
        ContextEntries=[{"ContextKeyName": "s3:max-keys", "ContextKeyValues": ["many"], "ContextKeyType": "numeric"}])
    assert code == "InvalidInput" and "'many'" in message


def test_a_caller_needs_simulate_permission_on_the_principal(local_aws, iam):
    caller, _ = role_with(iam, trust=ACCOUNT_TRUST)
    iam.put_role_policy(RoleName=caller.rsplit("/", 1)[1], PolicyName="self", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": caller}))
    keys = boto3.client("sts", **local_aws.client_kwargs).assume_role(RoleArn=caller, RoleSessionName="sim")[
        "Credentials"]
    as_caller = boto3.client("iam", endpoint_url=local_aws.url, region_name="us-east-1", config=NO_RETRY,
                             aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                             aws_session_token=keys["SessionToken"])
    # a role may simulate itself, as the SageMaker SDK has a role do ...
    itself = as_caller.simulate_principal_policy(PolicySourceArn=caller, ActionNames=["iam:SimulatePrincipalPolicy"],
                                                 ResourceArns=[caller])
    assert itself["EvaluationResults"][0]["EvalDecision"] == "allowed"
    # ... and nothing it is not allowed
    other, _ = role_with(iam)
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{caller.rsplit('/', 1)[1]}/sim"
    assert refusal(as_caller.simulate_principal_policy, PolicySourceArn=other, ActionNames=["s3:GetObject"]) == (
        "AccessDenied", 403, f"User: {session} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: "
                             f"{other} because no identity-based policy allows the iam:SimulatePrincipalPolicy action")
    assert refusal(as_caller.simulate_custom_policy, PolicyInputList=[policy()], ActionNames=["s3:GetObject"])[:2] == (
        "AccessDenied", 403)


def test_the_sagemaker_sdk_validates_a_training_role_and_picks_its_staging_bucket_by_simulation(aws_env, iam, caplog):
    """ModelTrainer validates its role as it is made (resolve_and_validate_role: SimulatePrincipalPolicy through
    the paginator, then the trust policy) and asks again, with a resource, where it may stage its code
    (`_resolve_staging_bucket`): both read local AWS's answers."""
    from sagemaker.core.helper.iam_role_resolver import RoleValidationError
    from sagemaker.core.shapes import OutputDataConfig
    from sagemaker.train.model_trainer import ModelTrainer

    default_bucket = unique("sim-default")
    session = sdk_session(default_bucket)
    role = sdk_role(iam, default_bucket, "training")
    with caplog.at_level("INFO", logger="sagemaker"):
        trainer = ModelTrainer(training_image=TRAINING_IMAGE, role=role, sagemaker_session=session)
    assert trainer.role == role
    assert not [record for record in caplog.records if "Could not verify permissions" in record.getMessage()]
    assert trainer._resolve_staging_bucket() == (default_bucket, None)
    elsewhere = ModelTrainer(training_image=TRAINING_IMAGE, role=sdk_role(iam, "sim-output", "training"),
                             sagemaker_session=session,
                             output_data_config=OutputDataConfig(s3_output_path="s3://sim-output/jobs"))
    assert elsewhere._resolve_staging_bucket() == ("sim-output", "jobs")  # denied on the default bucket
    bare, _ = role_with(iam)
    with pytest.raises(RoleValidationError, match="Missing permissions: cloudwatch:PutMetricData, "
                                                  "ec2:CreateNetworkInterface"):
        ModelTrainer(training_image=TRAINING_IMAGE, role=bare, sagemaker_session=session)


def test_every_member_answered_is_one_of_iams_output_shape():
    """The check the `iam` fixture makes, seen to catch a member IAM does not have."""
    model = botocore.session.get_session().get_service_model("iam").operation_model("SimulateCustomPolicy")
    answer = ElementTree.fromstring(
        '<SimulateCustomPolicyResponse><SimulateCustomPolicyResult><EvaluationResults><member>'
        '<EvalDecisionDetail/></member></EvaluationResults></SimulateCustomPolicyResult>'
        '</SimulateCustomPolicyResponse>')
    with pytest.raises(AssertionError, match="EvalDecisionDetail is not a member of EvaluationResult"):
        _check(answer[0], model.output_shape, model.name)
