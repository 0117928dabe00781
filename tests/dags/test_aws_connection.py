"""`aws_default` is a real connection wherever the project runs Airflow against local AWS: `make run`
(scripts/run_pipeline.py), `make up` (scripts/up.sh) and docker-compose.yaml define it through
AIRFLOW_CONN_AWS_DEFAULT with local AWS's endpoint, region and profile, and never its secret key."""

import json
import subprocess
from pathlib import Path

import pytest

from scripts import run_pipeline

REPO = Path(__file__).resolve().parents[2]
ENDPOINT = "http://127.0.0.1:4566"
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                        "AWS_DEFAULT_PROFILE", "AIRFLOW_CONN_AWS_DEFAULT")


@pytest.fixture
def local_aws_env(tmp_path):
    """What local AWS prints when it serves (local_aws/server.py's profile_env), with a key pair of its own."""
    credentials = tmp_path / "credentials"
    credentials.write_text("[local]\naws_access_key_id = LOCALKEYID\naws_secret_access_key = local-secret\n")
    return {"AWS_ENDPOINT_URL": ENDPOINT, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials), "AWS_PROFILE": "local"}


def hook_in(monkeypatch, env):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in ("AIRFLOW_CONN_AWS_DEFAULT", "AWS_SHARED_CREDENTIALS_FILE"):
        if name in env:
            monkeypatch.setenv(name, env[name])
    return AwsBaseHook(aws_conn_id="aws_default", client_type="s3")


def logged(capfd):
    """What the hook logged: Airflow's logging goes through structlog to the process's output."""
    out, err = capfd.readouterr()
    return out + err


def test_make_run_gives_aws_hooks_local_aws_by_the_connection(monkeypatch, capfd, local_aws_env, tmp_path):
    env = run_pipeline.airflow_env(local_aws_env, tmp_path / "airflow")
    assert "local-secret" not in env["AIRFLOW_CONN_AWS_DEFAULT"]
    hook = hook_in(monkeypatch, env)  # AWS_PROFILE unset: the connection names the profile
    config = hook.conn_config
    assert "switching to empty" not in logged(capfd)
    assert (config.conn_id, config.endpoint_url, config.region_name, config.profile_name) == (
        "aws_default", ENDPOINT, "us-east-1", "local")
    assert hook.get_session().get_credentials().access_key == "LOCALKEYID"
    assert hook.get_conn().meta.endpoint_url == ENDPOINT


def test_without_the_connection_the_hook_says_it_switches_to_empty(monkeypatch, capfd, local_aws_env):
    # The check above can fail: this is the line every AWS task logged before.
    hook = hook_in(monkeypatch, local_aws_env)
    assert hook.conn_config.endpoint_url is None
    assert "Unable to find AWS Connection ID 'aws_default', switching to empty." in logged(capfd)


def test_make_up_defines_the_same_connection(local_aws_env):
    line = next(line for line in (REPO / "scripts" / "up.sh").read_text().splitlines()
                if line.startswith("export AIRFLOW_CONN_AWS_DEFAULT="))
    done = subprocess.run(["bash", "-c", f'{line}\nprintf %s "$AIRFLOW_CONN_AWS_DEFAULT"'], env=local_aws_env,
                          capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout) == json.loads(run_pipeline.aws_connection(local_aws_env))
