"""EC2 instances that really run: moto keeps their state, local AWS's machines (`machines.py`) run them.

RunInstances, StartInstances, StopInstances and TerminateInstances are answered by moto, then each
instance's state is set to what its machine reaches as it goes (moto would have it `running`, `stopped`
or `terminated` at once): `pending -> running` once its sandbox is up, `stopping -> stopped` once its
processes are gone, `shutting-down -> terminated` once its volumes are deleted. DescribeInstances and
DescribeInstanceStatus read moto's state under the same lock, so no caller sees a state before it is
true. GetConsoleOutput answers the instance's real console. Every instance of a launch gets the
instance profile (moto associates only the first), and its processes get the profile role's temporary
credentials and `AWS_ENDPOINT_URL` pointing at local AWS.
"""

import base64
import datetime
import logging
import re
import threading
from pathlib import Path
from xml.sax.saxutils import escape

from moto.ec2.models import ec2_backends
from werkzeug.wrappers import Response

from local_aws import sandbox
from local_aws.access.assume_role_api import assume_role_for
from local_aws.access.role_trust import RoleNotAssumable
from local_aws.ec2.machines import Machine, MachineSetup, Volume
from local_aws.exceptions import aws_error
from local_aws.hosting.time_scale import real_seconds
from local_aws.routing import MotoAnswer, around_moto
from local_aws.settings import positive_setting

logger = logging.getLogger(__name__)
Unsupported = aws_error("Unsupported")
InvalidParameterValue = aws_error("InvalidParameterValue")

CORES_VARIABLE = "LOCAL_AWS_EC2_CORES"
EC2_PRINCIPAL = "ec2.amazonaws.com"
STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"
_INSTANCE_ID = re.compile(rb"<instanceId>(i-[0-9a-f]+)</instanceId>")
# moto's answers and the states it holds are read and changed under this lock: no Describe sees moto's
# instant `stopped` before the machine has set `stopping`.
_ec2_lock = threading.Lock()


class Machines:
    """One account and region's machines, by instance id."""

    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self.machines: dict[str, Machine] = {}


@around_moto("ec2", "DescribeInstances")
def describe_instances(params: dict, ctx, moto) -> Response:
    with _ec2_lock:
        return moto().response()


@around_moto("ec2", "DescribeInstanceStatus")
def describe_instance_status(params: dict, ctx, moto) -> Response:
    with _ec2_lock:
        return moto().response()


@around_moto("ec2", "RunInstances")
def run_instances(params: dict, ctx, moto) -> Response:
    _refuse_what_cannot_run(params)
    user_data = _user_data(params)
    with _ec2_lock:
        answer = moto()
        if answer.status != 200 or _dry_run(params):
            return answer.response()
        backend = ec2_backends[ctx.account_id][ctx.region]
        profile = params.get("IamInstanceProfile.Arn") or params.get("IamInstanceProfile.Name")
        role_arn = _profile_role(ctx, profile)
        made = []
        for instance_id in dict.fromkeys(match.decode() for match in _INSTANCE_ID.findall(answer.body)):
            instance = backend.get_instance(instance_id)
            if profile and instance_id not in backend.iam_instance_profile_associations:
                backend.associate_iam_instance_profile(instance_id=instance_id, **_profile_argument(params))
            machine = Machine(_setup(ctx, instance, params, user_data, instance_environment(ctx, role_arn, instance_id),
                                     role_arn),
                              on_state=lambda name, instance=instance: _locked_set_state(instance, name),
                              start_sandbox=ctx.platform.supervisor.start_sandbox)
            _set_state(instance, "pending")
            machines = ctx.state(Machines)
            with machines.lock:
                machines.machines[instance_id] = machine
            made.append(machine)
    for machine in made:
        _in_background(machine.boot, machine)
    return answer.response()


@around_moto("ec2", "StartInstances")
def start_instances(params: dict, ctx, moto) -> Response:
    _refuse_what_cannot_run(params)
    return _transition(params, ctx, moto, from_states={"stopped"}, to_state="pending", action=Machine.boot)


@around_moto("ec2", "StopInstances")
def stop_instances(params: dict, ctx, moto) -> Response:
    if params.get("Hibernate") == "true":
        raise Unsupported("local_aws does not support hibernation: a stopped instance keeps its volumes, not its "
                          "memory.")
    return _transition(params, ctx, moto, from_states={"pending", "running"}, to_state="stopping",
                       action=Machine.stop)


@around_moto("ec2", "TerminateInstances")
def terminate_instances(params: dict, ctx, moto) -> Response:
    return _transition(params, ctx, moto, from_states={"pending", "running", "stopping", "stopped"},
                       to_state="shutting-down", action=Machine.terminate)


@around_moto("ec2", "GetConsoleOutput")
def get_console_output(params: dict, ctx, moto) -> Response:
    answer = moto()  # moto's answer is a sample text, but its errors (no such instance) are EC2's
    if answer.status != 200:
        return answer.response()
    machine = ctx.state(Machines).machines.get(params["InstanceId"])
    output = machine.console_output() if machine is not None else b""
    timestamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<GetConsoleOutputResponse xmlns="{EC2_XMLNS}">'
            f"<requestId>{_request_id(answer)}</requestId><instanceId>{escape(params['InstanceId'])}</instanceId>"
            f"<timestamp>{timestamp}</timestamp><output>{base64.b64encode(output).decode()}</output>"
            "</GetConsoleOutputResponse>")
    return Response(body, status=200, content_type="text/xml")


def _transition(params: dict, ctx, moto, from_states: set[str], to_state: str, action) -> Response:
    """moto's answer for a power action; each instance that moves gets `to_state` now and its machine acts."""
    with _ec2_lock:
        states = {}
        backend = ec2_backends[ctx.account_id][ctx.region]
        for instance_id in _instance_ids(params):
            try:
                states[instance_id] = backend.get_instance(instance_id)._state.name
            except Exception:
                pass  # moto answers InvalidInstanceID.NotFound
        answer = moto()
        if answer.status != 200 or _dry_run(params):
            return answer.response()
        moving = []
        for instance_id, before in states.items():
            machine = ctx.state(Machines).machines.get(instance_id)
            if before in from_states and machine is not None:
                _set_state(backend.get_instance(instance_id), to_state)
                moving.append(machine)
            else:
                _set_state(backend.get_instance(instance_id), before)  # nothing happens to it, as on EC2
    for machine in moving:
        _in_background(lambda machine=machine: action(machine), machine)
    return answer.response()


def _refuse_what_cannot_run(params: dict) -> None:
    if sandbox.mode() == sandbox.NAMESPACES and (reason := sandbox.unavailable_reason()) is not None:
        raise Unsupported(f"local_aws cannot run an instance on this machine: {reason}")


def _user_data(params: dict) -> bytes | None:
    if "UserData" not in params:
        return None
    try:
        data = base64.b64decode(params["UserData"], validate=True)
    except ValueError:
        raise InvalidParameterValue("Invalid BASE64 encoding of user data.")
    if data.startswith(b"\x1f\x8b") or data.lstrip().startswith((b"#cloud-config", b"Content-Type: multipart",
                                                                  b"#include", b"#cloud-boothook", b"#part-handler")):
        raise Unsupported("local_aws does not support user data other than a shell script (#!...): cloud-config, "
                          "MIME multi-part, include files, boothooks and gzip need cloud-init.")
    return data


def _setup(ctx, instance, params: dict, user_data: bytes | None, environment: dict[str, str],
           role_arn: str | None) -> MachineSetup:
    directory = ctx.files() / "ec2" / instance.id
    directory.mkdir(parents=True, exist_ok=True)
    root_device = getattr(instance, "root_device_name", None) or "/dev/sda1"
    mapped = _block_device_mapping(params)
    volumes = [Volume(root_device, directory / "volumes" / Path(root_device).name, None,
                      mapped.pop(root_device, True))]
    volumes += [Volume(device, directory / "volumes" / Path(device).name, f"/mnt/{Path(device).name}", delete)
                for device, delete in sorted(mapped.items())]
    cores = positive_setting(CORES_VARIABLE, None, int)  # None: all the cores local AWS may use
    script = user_data if user_data is not None and user_data.startswith(b"#!") else None
    if user_data is not None and script is None:
        # cloud-init runs only scripts; it logs the rest and leaves it to the instance's own programs
        (directory / "console.log").write_bytes(b"cloud-init: the user data is not a script (#!...) and was not run\n")
    return MachineSetup(instance_id=instance.id, directory=directory, volumes=tuple(volumes), user_data=script,
                        environment=environment, cpus=cores,
                        minute_seconds=real_seconds(60),
                        shutdown_behavior=params.get("InstanceInitiatedShutdownBehavior", "stop"), role_arn=role_arn)


def _block_device_mapping(params: dict) -> dict[str, bool]:
    """The mapping's EBS devices and their DeleteOnTermination (true unless it says false)."""
    devices = {}
    index = 1
    while f"BlockDeviceMapping.{index}.DeviceName" in params:
        prefix = f"BlockDeviceMapping.{index}."
        if prefix + "NoDevice" not in params:
            devices[params[prefix + "DeviceName"]] = params.get(prefix + "Ebs.DeleteOnTermination", "true") != "false"
        index += 1
    return devices


def _profile_role(ctx, profile: str | None) -> str | None:
    """The role of the instance profile named (by name or ARN); None without one, as without a role in it."""
    if not profile:
        return None
    name = profile.rsplit("/", 1)[-1]
    roles = ctx.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
    return roles[0]["Arn"] if roles else None


def instance_environment(ctx, role_arn: str | None, instance_id: str) -> dict[str, str]:
    """What an instance's processes get: local AWS as the endpoint, the region, its role's fresh credentials."""
    environment = {"AWS_ENDPOINT_URL": ctx.platform.url, "AWS_REGION": ctx.region, "AWS_DEFAULT_REGION": ctx.region}
    return {**environment, **_role_credentials(ctx, role_arn, instance_id)} if role_arn else environment


def _role_credentials(ctx, role_arn: str, instance_id: str) -> dict[str, str]:
    """Fresh temporary credentials of the instance's role (STS AssumeRole for an hour, as ec2.amazonaws.com, the
    session named by the instance id as EC2 names it), as its processes get them; none, as on EC2, when the
    role does not trust EC2 (the console says why)."""
    try:
        return assume_role_for(ctx.platform, ctx.account_id, ctx.region, role_arn, EC2_PRINCIPAL, instance_id)
    except RoleNotAssumable as refused:
        logger.warning("instance %s gets no credentials: %s", instance_id, refused)
        return {}


def _profile_argument(params: dict) -> dict[str, str]:
    if params.get("IamInstanceProfile.Arn"):
        return {"iam_instance_profile_arn": params["IamInstanceProfile.Arn"]}
    return {"iam_instance_profile_name": params["IamInstanceProfile.Name"]}


def _instance_ids(params: dict) -> list[str]:
    return [params[f"InstanceId.{index}"] for index in range(1, len(params) + 1) if f"InstanceId.{index}" in params]


def _set_state(instance, name: str) -> None:
    instance._state.name = name
    instance._state.code = STATE_CODES[name]


def _locked_set_state(instance, name: str) -> None:
    with _ec2_lock:
        _set_state(instance, name)


def _in_background(action, machine: Machine) -> None:
    threading.Thread(target=action, name=f"ec2-{machine.setup.instance_id}", daemon=True).start()


def _dry_run(params: dict) -> bool:
    return params.get("DryRun") == "true"


def _request_id(answer: MotoAnswer) -> str:
    found = re.search(rb"<requestId>([^<]+)</requestId>", answer.body)
    return found.group(1).decode() if found else ""

