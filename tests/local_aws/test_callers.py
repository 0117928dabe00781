"""Local AWS lets in only its own callers: browsers from listed origins, names it serves, and requests
signed (SigV4, or S3's SigV2 presigned URLs) by a key it knows; each refusal in AWS's code and shape."""

import datetime
import io
import json
import os
import stat
import tarfile
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.sts.models import sts_backends

from local_aws import LocalAWS
from local_aws.access import callers, credentials
from local_aws_testing import probe_training_request, tarball, unique_name, wait_for
from signed_requests import presigned_s3_url, signed_request

FOREIGN = "http://evil.example"
ALLOWED = "http://app.localhost:3000"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


# The job's code leaves a mark in its model (a sandboxed job sees nothing else of this machine).
MARKER_SCRIPT = "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'ran'), 'w').write('ran')\n"


def _cross_site_chain(url: str, bucket: str, job: str, origin: str, keys=None) -> list[requests.Response]:
    """What a page can send with fetch(): make a bucket, upload code, start a training job running it."""
    def send(method, path, service, body=b"", headers=None):
        headers = {"Origin": origin, **(headers or {})}
        if keys is None:
            return requests.request(method, url + path, data=body, headers=headers, timeout=10)
        return signed_request(method, url + path, service, keys.access_key_id, keys.secret_access_key, body, headers)

    request = probe_training_request(bucket, job, RoleArn="arn:aws:iam::123456789012:role/SageMakerRole")
    request["HyperParameters"]["sagemaker_submit_directory"] = json.dumps(f"s3://{bucket}/code.tar.gz")
    request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = f"s3://{bucket}/"
    return [
        send("PUT", f"/{bucket}", "s3"),
        send("PUT", f"/{bucket}/code.tar.gz", "s3", tarball({"train.py": MARKER_SCRIPT})),
        send("POST", "/", "sagemaker", json.dumps(request).encode(),
             {"X-Amz-Target": "SageMaker.CreateTrainingJob", "Content-Type": "application/x-amz-json-1.1"}),
    ]


def test_a_page_from_a_foreign_origin_cannot_make_local_aws_run_code(local_aws, sm, s3):
    for keys in (None, local_aws.credentials):  # a page has no keys; even with them, the origin is refused
        job, bucket = unique_name("cross-site"), unique_name("cross-site")
        answers = _cross_site_chain(local_aws.url, bucket, job, FOREIGN, keys)
        assert [answer.status_code for answer in answers] == [403, 403, 403]
        assert not any(name.lower().startswith("access-control-") for answer in answers for name in answer.headers)
        assert "LOCAL_AWS_CORS_ORIGINS" in answers[2].json()["message"]
        with pytest.raises(ClientError, match="ValidationException"):  # no job was made, so none ran
            sm.describe_training_job(TrainingJobName=job)
        assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_the_same_chain_from_an_allowed_origin_with_valid_signatures_runs(tmp_path, monkeypatch):
    monkeypatch.setenv(callers.ORIGINS_VARIABLE, f"{ALLOWED}, https://other.example")
    with LocalAWS(port=0, state_dir=tmp_path / "state") as aws:
        bucket, job = unique_name("allowed"), unique_name("allowed")
        answers = _cross_site_chain(aws.url, bucket, job, ALLOWED, aws.credentials)
        assert [answer.status_code for answer in answers] == [200, 200, 200], answers[-1].text
        # The SageMaker answer is readable by the page; S3's follow the bucket's own CORS rules (none here).
        assert answers[2].headers["Access-Control-Allow-Origin"] == ALLOWED
        assert "Access-Control-Allow-Origin" not in answers[1].headers
        sm = boto3.client("sagemaker", **aws.client_kwargs)
        described = wait_for(lambda: sm.describe_training_job(TrainingJobName=job), "TrainingJobStatus")
        assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
        archive = boto3.client("s3", **aws.client_kwargs).get_object(
            Bucket=bucket, Key=described["ModelArtifacts"]["S3ModelArtifacts"].split("/", 3)[3])["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            assert tar.extractfile("ran").read() == b"ran"


def _preflight(url: str, origin: str, path: str = "/") -> requests.Response:
    return requests.options(url + path, timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target, content-type, authorization"})


def test_preflights_from_foreign_origins_get_no_cors_headers(local_aws):
    for origin in (FOREIGN, "null", "http://localhost:3000"):
        answer = _preflight(local_aws.url, origin)
        assert answer.status_code == 403
        assert [name for name in answer.headers if name.lower().startswith("access-control-")] == []
    referred = requests.get(local_aws.url + "/", headers={"Referer": FOREIGN + "/page.html"}, timeout=10)
    assert referred.status_code == 403


def test_preflights_from_allowed_origins_are_answered_and_s3_follows_the_bucket_cors(tmp_path, monkeypatch):
    monkeypatch.setenv(callers.ORIGINS_VARIABLE, ALLOWED)
    with LocalAWS(port=0, state_dir=tmp_path) as aws:
        answer = _preflight(aws.url, ALLOWED)
        assert answer.status_code == 200
        assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED
        assert answer.headers["Access-Control-Allow-Methods"] == "POST"
        assert answer.headers["Access-Control-Allow-Headers"] == "x-amz-target, content-type, authorization"
        assert _preflight(aws.url, FOREIGN).status_code == 403
        s3 = boto3.client("s3", **aws.client_kwargs)
        bucket = unique_name("cors")
        s3.create_bucket(Bucket=bucket)
        without_rules = _preflight(aws.url, ALLOWED, f"/{bucket}/key")
        assert "Access-Control-Allow-Origin" not in without_rules.headers
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": [ALLOWED], "AllowedMethods": ["GET", "POST"], "AllowedHeaders": ["*"]}]})
        with_rules = _preflight(aws.url, ALLOWED, f"/{bucket}/key")
        assert with_rules.headers.get("Access-Control-Allow-Origin") == ALLOWED
        # A bucket rule naming an origin not on the list never lets it in.
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]}]})
        assert _preflight(aws.url, FOREIGN, f"/{bucket}/key").status_code == 403


def test_unsigned_requests_are_refused_in_each_services_shape(local_aws):
    s3 = requests.get(local_aws.url + "/", timeout=10)
    assert (s3.status_code, "<Code>AccessDenied</Code>" in s3.text) == (403, True)
    json_api = requests.post(local_aws.url + "/", data=b"{}", timeout=10, headers={
        "X-Amz-Target": "SageMaker.ListTrainingJobs", "Content-Type": "application/x-amz-json-1.1"})
    assert json_api.status_code == 403
    assert json_api.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    query = requests.post(local_aws.url + "/", data="Action=ListUsers&Version=2010-05-08", timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert query.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in query.text


@pytest.mark.parametrize("service, call, wrong_secret, unknown_key", [
    ("s3", lambda c: c.list_buckets(), "SignatureDoesNotMatch", "InvalidAccessKeyId"),
    ("sagemaker", lambda c: c.list_training_jobs(), "InvalidSignatureException", "UnrecognizedClientException"),
    ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch", "InvalidClientTokenId"),
    ("logs", lambda c: c.describe_log_groups(), "InvalidSignatureException", "UnrecognizedClientException"),
    ("cloudwatch", lambda c: c.list_metrics(), "InvalidSignatureException", "UnrecognizedClientException"),
    ("ec2", lambda c: c.describe_instances(), "SignatureDoesNotMatch", "AuthFailure"),
])
def test_wrong_secrets_and_unknown_keys_get_the_services_codes(local_aws, service, call, wrong_secret, unknown_key):
    def code(access_key, secret):
        client = boto3.client(service, endpoint_url=local_aws.url, region_name="us-east-1", config=NO_RETRY,
                              aws_access_key_id=access_key, aws_secret_access_key=secret)
        with pytest.raises(ClientError) as raised:
            call(client)
        return raised.value.response["Error"]["Code"]

    assert code(local_aws.credentials.access_key_id, "not-the-secret") == wrong_secret
    assert code("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == unknown_key
    assert code("testing", "testing") == unknown_key  # the well-known pair of other local stacks


def test_a_clock_skewed_past_fifteen_minutes_is_refused(local_aws):
    keys = local_aws.credentials
    skewed = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
    s3 = signed_request("GET", local_aws.url + "/", "s3", keys.access_key_id, keys.secret_access_key, at=skewed)
    assert s3.status_code == 403 and "<Code>RequestTimeTooSkewed</Code>" in s3.text
    sagemaker = signed_request("POST", local_aws.url + "/", "sagemaker", keys.access_key_id, keys.secret_access_key,
                               b"{}", {"X-Amz-Target": "SageMaker.ListTrainingJobs",
                                       "Content-Type": "application/x-amz-json-1.1"}, at=skewed)
    assert sagemaker.status_code == 403
    assert sagemaker.json()["__type"] == "InvalidSignatureException"
    assert sagemaker.json()["message"].startswith("Signature expired")
    within = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=14)
    assert signed_request("GET", local_aws.url + "/", "s3", keys.access_key_id, keys.secret_access_key,
                          at=within).status_code == 200


def test_presigned_urls_work_until_they_expire(local_aws, s3):
    bucket = unique_name("presigned")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"payload")
    keys = local_aws.credentials
    object_url = f"{local_aws.url}/{bucket}/k"
    # boto3's default (SigV2 for S3) and SigV4 presigned URLs
    assert requests.get(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}),
                        timeout=10).content == b"payload"
    v4 = boto3.client("s3", **local_aws.client_kwargs, config=Config(signature_version="s3v4"))
    assert requests.get(v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}),
                        timeout=10).content == b"payload"
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    expired = requests.get(presigned_s3_url(object_url, keys.access_key_id, keys.secret_access_key, 60,
                                            at=an_hour_ago), timeout=10)
    assert expired.status_code == 403 and "Request has expired" in expired.text
    still_valid = presigned_s3_url(object_url, keys.access_key_id, keys.secret_access_key, 7200, at=an_hour_ago)
    assert requests.get(still_valid, timeout=10).content == b"payload"
    tampered = requests.get(still_valid.replace("/k?", "/other?"), timeout=10)
    assert tampered.status_code == 403 and "SignatureDoesNotMatch" in tampered.text
    too_long = requests.get(presigned_s3_url(object_url, keys.access_key_id, keys.secret_access_key,
                                             8 * 24 * 3600), timeout=10)
    assert too_long.status_code == 400 and "AuthorizationQueryParametersError" in too_long.text
    v2_expired = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=-10)
    assert requests.get(v2_expired, timeout=10).status_code == 403


def test_foreign_host_names_are_refused(local_aws):
    port = local_aws.url.rsplit(":", 1)[1]
    for host in ("attacker.example:" + port, "127.0.0.1.nip.io:" + port, "localhost:1", ""):
        answer = requests.get(local_aws.url + "/", headers={"Host": host}, timeout=10)
        assert answer.status_code == 403, host
    keys = local_aws.credentials
    served = signed_request("GET", f"http://localhost:{port}/", "s3", keys.access_key_id, keys.secret_access_key)
    assert served.status_code == 200


def test_credentials_from_iam_and_sts_work_and_are_held_to_their_limits(local_aws, aws_client, s3):
    iam = aws_client("iam")
    user = unique_name("user")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = boto3.client("sts", endpoint_url=local_aws.url, region_name="us-east-1", config=NO_RETRY,
                           aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert as_user.get_caller_identity()["Arn"].endswith(f":user/{user}")
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        as_user.get_caller_identity()

    role_arn = iam.create_role(RoleName=unique_name("CallerTestRole"), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    found = aws_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="callers")["Credentials"]
    temporary = {"endpoint_url": local_aws.url, "region_name": "us-east-1", "config": NO_RETRY,
                 "aws_access_key_id": found["AccessKeyId"], "aws_secret_access_key": found["SecretAccessKey"]}
    as_role = boto3.client("sts", aws_session_token=found["SessionToken"], **temporary)
    assert f":assumed-role/{role_arn.rsplit('/', 1)[-1]}/callers" in as_role.get_caller_identity()["Arn"]
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        boto3.client("sts", **temporary).get_caller_identity()  # the session token left out
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        boto3.client("sts", aws_session_token="not-the-token", **temporary).get_caller_identity()
    assumed = next(role for role in sts_backends["123456789012"]["aws"].assumed_roles
                   if role.access_key_id == found["AccessKeyId"])
    assumed.expiration = datetime.datetime.utcnow() - datetime.timedelta(seconds=1)
    with pytest.raises(ClientError, match="ExpiredToken"):
        as_role.get_caller_identity()
    with pytest.raises(ClientError, match="ExpiredToken"):
        boto3.client("s3", aws_session_token=found["SessionToken"], **temporary).list_buckets()


def test_only_the_owner_names_the_account_it_acts_for(local_aws, aws_client):
    iam = aws_client("iam")
    user = unique_name("user")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = boto3.client("sts", endpoint_url=local_aws.url, region_name="us-east-1",
                           aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    as_user.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", "111122223333"))
    assert as_user.get_caller_identity()["Account"] == "123456789012"


def test_the_key_pair_is_generated_once_per_state_dir_in_a_private_file(tmp_path, monkeypatch):
    monkeypatch.delenv(credentials.ACCESS_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(credentials.SECRET_KEY_VARIABLE, raising=False)
    first = credentials.load_or_create(tmp_path)
    path = tmp_path / "credentials"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.load_or_create(tmp_path) == first
    other = tmp_path / "other"
    other.mkdir()
    assert credentials.load_or_create(other) != first
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    profile = boto3.Session(profile_name="local").get_credentials()
    assert (profile.access_key, profile.secret_key) == (first.access_key_id, first.secret_access_key)
    assert first.secret_access_key not in repr(first)

    given = {credentials.ACCESS_KEY_VARIABLE: "LKIAGIVENBYTHEUSER01", credentials.SECRET_KEY_VARIABLE: "s" * 40}
    assert credentials.load_or_create(tmp_path, given) == credentials.KeyPair(*given.values())
    assert credentials.read(path) == credentials.KeyPair(*given.values())
    with pytest.raises(ValueError, match="set both"):
        credentials.load_or_create(tmp_path, {credentials.ACCESS_KEY_VARIABLE: "LKIAONLYTHEKEY000000"})


def test_host_policy_and_origins_are_parsed_strictly():
    policy = callers.HostPolicy.serving(4566, {callers.HOSTNAMES_VARIABLE: "dev.box, proxy.box:8443"})
    for host in ("127.0.0.1:4566", "localhost:4566", "[::1]:4566", "local-aws:4566", "bucket.localhost:4566",
                 "bucket.s3.local-aws:4566", "dev.box:4566", "proxy.box:8443", "LOCALHOST:4566"):
        assert policy.allows(host), host
    for host in ("evil.example:4566", "localhost.evil.example:4566", "bucket.127.0.0.1:4566", "localhost:4567",
                 "dev.box:8443", "localhost:abc", "", None, "[::1:4566"):
        assert not policy.allows(host), host
    assert callers.allowed_origins({callers.ORIGINS_VARIABLE: "HTTP://App.Example:80/, https://x.example:8443"}) == {
        "http://app.example", "https://x.example:8443"}
    with pytest.raises(ValueError, match="LOCAL_AWS_CORS_ORIGINS"):
        callers.allowed_origins({callers.ORIGINS_VARIABLE: "*"})
    assert callers.request_origin(None, "http://evil.example:80/a/page?x=1") == "http://evil.example"
    assert callers.request_origin("null", None) == "null"
    assert callers.request_origin(None, None) is None


def test_an_options_request_without_an_origin_is_no_preflight_and_must_be_signed(local_aws):
    answer = requests.options(local_aws.url + "/some-bucket/key", timeout=10,
                              headers={"Access-Control-Request-Method": "PUT"})
    assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text
