"""IAM evaluated for real on what local AWS serves itself (issue 14): requests signed with a role's
temporary credentials are allowed or refused by the role's policies on the real action and resource ARN
(`sagemaker:InvokeEndpoint` on one endpoint, `lambda:InvokeFunction` on one alias, `iam:PassRole`), and by
a function's resource policy (AddPermission, RemovePermission, GetPolicy); the owner's key is unaffected."""

import io
import json
import sys
import uuid
import zipfile

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from local_aws_testing import probe_training_request
from signed_requests import signed_request

ACCOUNT = "123456789012"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="functions run in Linux namespace sandboxes")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def refusal(call, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return {"Code": raised.value.response["Error"]["Code"],
            "Status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
            "Message": raised.value.response["Error"]["Message"]}


class Role:
    """A role with the given identity policy, and clients signed with its temporary credentials."""

    def __init__(self, local_aws, *statements):
        owner_iam = boto3.client("iam", **local_aws.client_kwargs)
        self.name = unique("iam-test")
        self.arn = owner_iam.create_role(RoleName=self.name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        if statements:
            owner_iam.put_role_policy(RoleName=self.name, PolicyName="test", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": list(statements)}))
        found = boto3.client("sts", **local_aws.client_kwargs).assume_role(RoleArn=self.arn,
                                                                             RoleSessionName="tests")["Credentials"]
        self.session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.name}/tests"
        self.keys = found
        self.local_aws = local_aws

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.local_aws.url, region_name="us-east-1", config=NO_RETRY,
                            aws_access_key_id=self.keys["AccessKeyId"],
                            aws_secret_access_key=self.keys["SecretAccessKey"],
                            aws_session_token=self.keys["SessionToken"])


def endpoint_arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}"


def test_a_role_allowed_on_one_endpoint_is_refused_on_another_naming_principal_action_and_resource(local_aws):
    mine, other = unique("mine"), unique("other")
    role = Role(local_aws, {"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": endpoint_arn(mine)})
    runtime = role.client("sagemaker-runtime")
    # past IAM: the endpoint itself is missing, as SageMaker answers it
    assert refusal(runtime.invoke_endpoint, EndpointName=mine, Body=b"{}")["Code"] == "ValidationError"
    refused = refusal(runtime.invoke_endpoint, EndpointName=other, Body=b"{}")
    assert (refused["Code"], refused["Status"]) == ("AccessDeniedException", 403)
    assert refused["Message"] == (
        f"User: {role.session_arn} is not authorized to perform: sagemaker:InvokeEndpoint on resource: "
        f"{endpoint_arn(other)} because no identity-based policy allows the sagemaker:InvokeEndpoint action")
    # the owner's key stands for the administrator
    owner = boto3.client("sagemaker-runtime", config=NO_RETRY, **local_aws.client_kwargs)
    assert refusal(owner.invoke_endpoint, EndpointName=other, Body=b"{}")["Code"] == "ValidationError"


def test_the_control_plane_evaluates_real_action_names_on_lower_cased_arns_and_an_explicit_deny_wins(local_aws):
    job = unique("Job")
    role = Role(local_aws,
                {"Effect": "Allow", "Action": "sagemaker:Describe*",
                 "Resource": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{job.lower()}"},
                {"Effect": "Allow", "Action": "sagemaker:List*", "Resource": "*"},
                {"Effect": "Deny", "Action": "sagemaker:ListModels", "Resource": "*"})
    sm = role.client("sagemaker")
    assert refusal(sm.describe_training_job, TrainingJobName=job)["Code"] == "ValidationException"  # not found
    assert "sagemaker:DescribeModel on resource" in refusal(sm.describe_model, ModelName=job)["Message"]
    assert "TrainingJobSummaries" in sm.list_training_jobs()
    denied = refusal(sm.list_models)
    assert denied["Message"].endswith("on resource: * with an explicit deny in an identity-based policy")


def test_creating_a_training_job_needs_pass_role_on_its_role(local_aws):
    creator = {"Effect": "Allow", "Action": "sagemaker:CreateTrainingJob", "Resource": "*"}
    request = probe_training_request("no-such-bucket", unique("pass"))
    refused = refusal(Role(local_aws, creator).client("sagemaker").create_training_job, **request)
    assert "iam:PassRole on resource: " + request["RoleArn"] in refused["Message"]
    passes = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": request["RoleArn"],
              "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}}
    sm = Role(local_aws, creator, passes).client("sagemaker")
    # past IAM, the job is refused for its bucket (or accepted and fails): either way not AccessDenied
    try:
        sm.create_training_job(**request)
    except ClientError as error:
        assert error.response["Error"]["Code"] != "AccessDeniedException", error


HANDLER = "def handler(event, context):\n    return {'answered': event}\n"


@pytest.fixture(scope="module")
def function(local_aws):
    """A published function with an alias `live`, created with the owner's key."""
    lam = boto3.client("lambda", **local_aws.client_kwargs)
    iam = boto3.client("iam", **local_aws.client_kwargs)
    role = iam.create_role(RoleName=unique("fn"), AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    name = unique("iam-fn")
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                        Code={"ZipFile": buffer.getvalue()})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]


@linux_only
def test_invoking_an_alias_needs_the_alias_arn_and_the_unqualified_arn_does_not_cover_it(local_aws, function):
    role = Role(local_aws, {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function + ":live"})
    lam = role.client("lambda")
    answer = lam.invoke(FunctionName=function, Qualifier="live", Payload=b'{"n": 1}')
    assert json.loads(answer["Payload"].read()) == {"answered": {"n": 1}}
    for qualifier in ({}, {"Qualifier": "1"}):
        refused = refusal(lam.invoke, FunctionName=function, Payload=b"{}", **qualifier)
        assert refused["Code"] == "AccessDeniedException" and "lambda:InvokeFunction" in refused["Message"]


@linux_only
def test_a_resource_policy_grants_the_role_until_its_statement_is_removed(local_aws, function, aws_client):
    owner = aws_client("lambda")
    role = Role(local_aws)
    lam = role.client("lambda")
    assert refusal(lam.get_function_configuration, FunctionName=function)["Code"] == "AccessDeniedException"
    assert refusal(owner.get_policy, FunctionName=function)["Code"] == "ResourceNotFoundException"
    added = owner.add_permission(FunctionName=function, StatementId="role-reads", Action="lambda:GetFunctionConfiguration",
                                 Principal=role.arn)
    assert json.loads(added["Statement"]) == {
        "Sid": "role-reads", "Effect": "Allow", "Principal": {"AWS": role.arn}, "Action": "lambda:GetFunctionConfiguration",
        "Resource": function}
    assert lam.get_function_configuration(FunctionName=function)["FunctionArn"] == function
    # a permission on the unqualified ARN does not cover the alias
    assert refusal(lam.get_function_configuration, FunctionName=function, Qualifier="live")["Code"] \
        == "AccessDeniedException"
    policy = owner.get_policy(FunctionName=function)
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["role-reads"]
    assert refusal(owner.add_permission, FunctionName=function, StatementId="role-reads", Action="lambda:GetFunction",
                   Principal=role.arn)["Code"] == "ResourceConflictException"
    assert refusal(owner.remove_permission, FunctionName=function, StatementId="role-reads",
                   RevisionId="not-it")["Code"] == "PreconditionFailedException"
    owner.remove_permission(FunctionName=function, StatementId="role-reads", RevisionId=policy["RevisionId"])
    assert refusal(lam.get_function_configuration, FunctionName=function)["Code"] == "AccessDeniedException"
    assert refusal(owner.remove_permission, FunctionName=function, StatementId="role-reads")["Code"] \
        == "ResourceNotFoundException"


@linux_only
def test_permissions_on_latest_are_refused_and_on_an_alias_are_its_own(local_aws, function, aws_client):
    owner = aws_client("lambda")
    assert "$LATEST" in refusal(owner.add_permission, FunctionName=function, Qualifier="$LATEST", StatementId="s",
                                Action="lambda:InvokeFunction", Principal="s3.amazonaws.com")["Message"]
    added = json.loads(owner.add_permission(
        FunctionName=function + ":live", StatementId="bucket", Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::my-bucket", SourceAccount=ACCOUNT)["Statement"])
    assert added == {"Sid": "bucket", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                     "Action": "lambda:InvokeFunction", "Resource": function + ":live",
                     "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT},
                                   "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}}}
    assert refusal(owner.get_policy, FunctionName=function, Qualifier="1")["Code"] == "ResourceNotFoundException"
    assert json.loads(owner.get_policy(FunctionName=function, Qualifier="live")["Policy"])["Statement"] == [added]
    owner.remove_permission(FunctionName=function, Qualifier="live", StatementId="bucket")


@linux_only
def test_a_function_url_with_aws_iam_checks_invoke_function_url(local_aws, function, aws_client):
    aws_client("lambda").create_function_url_config(FunctionName=function, Qualifier="live", AuthType="AWS_IAM")
    url = aws_client("lambda").get_function_url_config(FunctionName=function, Qualifier="live")["FunctionUrl"]
    allowed = Role(local_aws, {"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl", "Resource": function + ":*",
                               "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}})
    stranger = Role(local_aws, {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"})
    answers = {}
    for label, role in (("allowed", allowed), ("stranger", stranger)):
        keys = role.keys
        answers[label] = signed_request("POST", url + "x", "lambda", keys["AccessKeyId"], keys["SecretAccessKey"],
                                        b"{}", token=keys["SessionToken"])
    assert answers["allowed"].status_code == 200, answers["allowed"].text
    assert (answers["stranger"].status_code, answers["stranger"].json()) == (403, {"Message": "Forbidden"})


def test_every_implemented_sagemaker_action_declares_the_resource_iam_evaluates():
    from local_aws import edge, routing
    from local_aws.sagemaker.permissions import RESOURCE_MEMBER

    edge.load_service_modules()
    assert set(routing.implemented_actions("sagemaker")) == set(RESOURCE_MEMBER)
    assert routing.find_action_authorizer("sagemaker") is not None
