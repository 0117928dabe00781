"""docker-compose.yaml, checked statically (there is no Docker engine here): it parses, its services,
mounts and dependencies are consistent, and it runs the Airflow version requirements.txt pins."""

import json
import re
from pathlib import Path

import pytest
import yaml


REPO = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-init"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


def pinned_airflow():
    match = re.search(r"^apache-airflow==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    assert match, "requirements.txt must pin apache-airflow"
    return match.group(1)


def test_the_stack_has_every_airflow_component(compose):
    assert set(compose["services"]) == AIRFLOW_SERVICES | {"postgres", "local-aws"}
    commands = {name: compose["services"][name]["command"] for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer"}
    assert "127.0.0.1:8080:8080" in compose["services"]["airflow-apiserver"]["ports"]


def test_every_published_port_listens_on_loopback_only(compose):
    # Docker binds a bare "HOST:CONTAINER" on every interface: anyone on the network could run code.
    published = {name: service.get("ports", []) for name, service in compose["services"].items()}
    assert published["local-aws"] == ["127.0.0.1:4566:4566"]
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str) and port.startswith("127.0.0.1:") and port.count(":") == 2, (name, port)


def test_airflow_signs_with_the_key_pair_local_aws_writes_and_no_well_known_one(compose):
    services = compose["services"]
    state = services["local-aws"]["command"][services["local-aws"]["command"].index("--state-dir") + 1]
    assert f"local-aws-state:{state}" in services["local-aws"]["volumes"]
    # Made by the init (root) and handed to the user local-aws runs as, before local-aws starts.
    assert services["local-aws"]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert f'chown -R "${{AIRFLOW_UID:-50000}}:0" /opt/airflow/logs {state}' in services["airflow-init"]["command"][1]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AWS_SHARED_CREDENTIALS_FILE"] == f"{state}/credentials" and env["AWS_PROFILE"] == "local"
        expected = f"local-aws-state:{state}" if name == "airflow-init" else f"local-aws-state:{state}:ro"
        assert expected in services[name]["volumes"]
    for service in services.values():
        assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(service.get("environment", {}))


def test_images_match_the_pinned_airflow(compose):
    expected = f"apache/airflow:{pinned_airflow()}"
    for name in AIRFLOW_SERVICES | {"local-aws"}:
        image = compose["services"][name]["image"]
        assert re.fullmatch(r"\$\{AIRFLOW_IMAGE_NAME:-(.+)\}", image).group(1) == expected, name


def test_depends_on_names_real_services_and_airflow_waits_for_database_aws_and_init(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert set(services["airflow-init"]["depends_on"]) == {"postgres"}
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert set(services[name]["depends_on"]) == {"postgres", "local-aws", "airflow-init"}, name
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_mounts_exist_and_put_the_project_where_the_environment_says(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("./") and "build/" not in source:
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
        if name in AIRFLOW_SERVICES - {"airflow-init"}:
            targets = {v.split(":")[1] for v in service["volumes"]}
            assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/project/model_code",
                    "/opt/airflow/project/requirements.txt"} <= targets
            env = service["environment"]
            assert "/opt/airflow/project" in env["PYTHONPATH"].split(":")
            assert "-r /opt/airflow/project/requirements.txt" in env["_PIP_ADDITIONAL_REQUIREMENTS"] or \
                name == "airflow-init"


def test_airflow_reaches_the_local_aws_service_it_starts(compose):
    services = compose["services"]
    command = services["local-aws"]["command"]
    assert command[:3] == ["python", "-m", "local_aws"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"]["AWS_ENDPOINT_URL"] == f"http://local-aws:{port}"
        assert services[name]["environment"]["DOG_BREED_PROFILE"] == "local"
    dataset = Path(services["airflow-scheduler"]["environment"]["DOG_BREED_LOCAL_DATASET_URL"][len("file://"):])
    mounted = {v.split(":")[1]: v.split(":")[0] for v in services["airflow-scheduler"]["volumes"]}
    assert str(dataset.parent) in mounted, "the local dataset's folder must be mounted"


def test_aws_default_is_local_aws_by_endpoint_region_and_profile_with_no_secret(compose):
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        connection = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
        assert connection == {"conn_type": "aws", "extra": {"endpoint_url": env["AWS_ENDPOINT_URL"],
                                                            "region_name": env["AWS_DEFAULT_REGION"],
                                                            "profile_name": env["AWS_PROFILE"]}}, name
    assert "AIRFLOW_CONN_AWS_DEFAULT" not in compose["services"]["local-aws"]["environment"]
