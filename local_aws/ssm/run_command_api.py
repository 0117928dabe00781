"""SSM's Run Command actions, local AWS's own (moto's SendCommand answers Success without running anything):
DescribeInstanceInformation, SendCommand, GetCommandInvocation, ListCommandInvocations, ListCommands,
CancelCommand. The rest of SSM (parameters, documents, ...) stays moto's.

A managed instance is a local instance whose instance profile has a role: its agent is `Online` while the
instance runs and `ConnectionLost` otherwise. Only `AWS-RunShellScript` runs; `AWS-RunPowerShellScript` is
refused as AWS refuses it for a Linux instance, any other document by name.
"""

import threading
import time
import uuid
from pathlib import Path

from moto.ec2.models import ec2_backends
from werkzeug.wrappers import Response

from local_aws import protocol
from local_aws.ec2.instances_api import Machines, instance_environment
from local_aws.exceptions import aws_error
from local_aws.routing import around_moto
from local_aws.ssm.run_command import PLUGIN, PLUGIN_DIRECTORY, Agent, Command, Commands, Delivery, Invocation, cancel

InvalidInstanceId = aws_error("InvalidInstanceId")
InvalidDocument = aws_error("InvalidDocument")
InvalidParameters = aws_error("InvalidParameters")
InvalidCommandId = aws_error("InvalidCommandId")
InvocationDoesNotExist = aws_error("InvocationDoesNotExist")
InvalidPluginName = aws_error("InvalidPluginName")
UnsupportedPlatformType = aws_error("UnsupportedPlatformType")
InvalidFilterKey = aws_error("InvalidFilterKey")
NotSupportedHere = aws_error("ValidationException")

DOCUMENT = "AWS-RunShellScript"
WINDOWS_DOCUMENTS = {"AWS-RunPowerShellScript", "AWS-InstallPowerShellModule", "AWS-ConfigureWindowsUpdate"}
DEFAULT_EXECUTION_TIMEOUT = 3600
MAX_EXECUTION_TIMEOUT = 172_800  # AWS-RunShellScript's own limit
DEFAULT_DELIVERY_TIMEOUT = 3600
AGENT_VERSION = "3.3.0.0-local"
DEFAULT_LOG_GROUP = f"/aws/ssm/{DOCUMENT}"
PLUGIN_OUTPUT_CHARACTERS = 2500  # ListCommandInvocations' Details: the plugin's Output
OUTPUT_SHIP_SECONDS = 1.0  # how often a running command's new output lines go to CloudWatch Logs


@around_moto("ssm", "DescribeInstanceInformation")
def describe_instance_information(params: dict, ctx, moto) -> Response:
    ctx.authorize("ssm:DescribeInstanceInformation", "*")
    if params.get("InstanceInformationFilterList"):
        raise NotSupportedHere("local_aws does not support InstanceInformationFilterList; use Filters.")
    wanted = {}
    for found in params.get("Filters", []):
        if found["Key"] not in ("InstanceIds", "PingStatus"):
            raise InvalidFilterKey(
                f"local_aws filters instances by InstanceIds and PingStatus only, not {found['Key']}")
        wanted[found["Key"]] = set(found["Values"])
    listed = []
    for instance_id, machine in sorted(_managed(ctx).items()):
        information = _information(instance_id, machine)
        if all(information[key if key != "InstanceIds" else "InstanceId"] in values for key, values in wanted.items()):
            listed.append(information)
    return _answer(_paged("InstanceInformationList", listed, params))


@around_moto("ssm", "SendCommand")
def send_command(params: dict, ctx, moto) -> Response:
    document = _document(params.get("DocumentName", ""))
    for unsupported in ("DocumentHash", "NotificationConfig", "ServiceRoleArn", "AlarmConfiguration",
                        "MaxConcurrency", "MaxErrors"):
        if unsupported in params:
            raise NotSupportedHere(f"local_aws does not support SendCommand's {unsupported}: every instance runs the "
                                   "command at once and every error is let through.")
    if params.get("DocumentVersion", "$DEFAULT") not in ("$DEFAULT", "$LATEST", "1"):
        raise InvalidDocument(f"{document} has one version, 1.")
    if params.get("OutputS3Region", ctx.region) != ctx.region:
        raise NotSupportedHere("local_aws keeps a command's output in the region the command runs in.")
    parameters = _parameters(params.get("Parameters", {}))
    managed = _managed(ctx)
    instance_ids = _instances(ctx, params, managed)
    for instance_id in instance_ids:
        ctx.authorize("ssm:SendCommand", f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:instance/{instance_id}")
    ctx.authorize("ssm:SendCommand", f"arn:aws:ssm:{ctx.region}::document/{document}")
    command = Command(
        command_id=str(uuid.uuid4()), document_name=document, parameters=parameters,
        instance_ids=list(params.get("InstanceIds", [])), targets=params.get("Targets", []),
        comment=params.get("Comment", ""), timeout_seconds=params.get("TimeoutSeconds", DEFAULT_DELIVERY_TIMEOUT),
        execution_timeout=int((parameters.get("executionTimeout") or [DEFAULT_EXECUTION_TIMEOUT])[0]),
        output_bucket=params.get("OutputS3BucketName"), output_prefix=params.get("OutputS3KeyPrefix"),
        cloudwatch=params.get("CloudWatchOutputConfig", {}))
    commands = ctx.state(Commands)
    with commands.lock:
        commands.commands[command.command_id] = command
        for instance_id in instance_ids:
            command.invocations[instance_id] = Invocation(command.command_id, instance_id)
    for instance_id in instance_ids:
        machine = managed[instance_id]
        agent = commands.agent(instance_id, lambda machine=machine: Agent(machine))
        agent.deliver(Delivery(command, command.invocations[instance_id],
                               environment=lambda machine=machine: instance_environment(
                                   ctx, machine.setup.role_arn, machine.setup.instance_id),
                               keep_output=lambda c, i, out, err: _keep_output(ctx, c, i, out, err),
                               stream_output=lambda c, i, out, err: _stream_output(ctx, c, i, out, err)))
    return _answer({"Command": command.shape()})


@around_moto("ssm", "GetCommandInvocation")
def get_command_invocation(params: dict, ctx, moto) -> Response:
    ctx.authorize("ssm:GetCommandInvocation", "*")
    if params.get("PluginName", PLUGIN) != PLUGIN:
        raise InvalidPluginName(f"The plugin name is not valid: {params['PluginName']}")
    command = ctx.state(Commands).commands.get(params["CommandId"])
    invocation = command.invocations.get(params["InstanceId"]) if command is not None else None
    if invocation is None:
        raise InvocationDoesNotExist("An error occurred (InvocationDoesNotExist) when calling the "
                                     "GetCommandInvocation operation")
    return _answer({
        "CommandId": command.command_id, "InstanceId": invocation.instance_id, "Comment": command.comment,
        "DocumentName": command.document_name, "DocumentVersion": "1", "PluginName": PLUGIN,
        "ResponseCode": invocation.response_code, "ExecutionStartDateTime": _iso(invocation.started),
        "ExecutionElapsedTime": _elapsed(invocation), "ExecutionEndDateTime": _iso(invocation.ended),
        "Status": invocation.status, "StatusDetails": _details(invocation),
        "StandardOutputContent": invocation.stdout, "StandardOutputUrl": invocation.stdout_url,
        "StandardErrorContent": invocation.stderr, "StandardErrorUrl": invocation.stderr_url,
        "CloudWatchOutputConfig": command.shape()["CloudWatchOutputConfig"]})


@around_moto("ssm", "ListCommandInvocations")
def list_command_invocations(params: dict, ctx, moto) -> Response:
    ctx.authorize("ssm:ListCommandInvocations", "*")
    if params.get("Filters"):
        raise NotSupportedHere("local_aws does not support ListCommandInvocations' Filters.")
    listed = []
    for command in _commands(ctx, params):
        for invocation in command.invocations.values():
            if params.get("InstanceId") in (None, invocation.instance_id):
                listed.append(_invocation_shape(command, invocation, params.get("Details", False)))
    return _answer(_paged("CommandInvocations", listed, params))


@around_moto("ssm", "ListCommands")
def list_commands(params: dict, ctx, moto) -> Response:
    ctx.authorize("ssm:ListCommands", "*")
    if params.get("Filters"):
        raise NotSupportedHere("local_aws does not support ListCommands' Filters.")
    listed = [command.shape() for command in _commands(ctx, params)
              if params.get("InstanceId") in (None, *command.invocations)]
    return _answer(_paged("Commands", listed, params))


@around_moto("ssm", "CancelCommand")
def cancel_command(params: dict, ctx, moto) -> Response:
    ctx.authorize("ssm:CancelCommand", "*")
    command = _command(ctx, params["CommandId"])
    for instance_id, invocation in command.invocations.items():
        if params.get("InstanceIds") in (None, []) or instance_id in params["InstanceIds"]:
            cancel(invocation)
    return _answer({})


def _document(name: str) -> str:
    name = name.rsplit("document/", 1)[-1]  # a document's ARN names it too
    if name == DOCUMENT:
        return name
    if name in WINDOWS_DOCUMENTS:
        raise UnsupportedPlatformType(f"The document {name} does not support the platform type of the given "
                                      "instance IDs: local instances are Linux.")
    raise InvalidDocument(f"local_aws runs only {DOCUMENT}, not {name or 'a document without a name'}.")


def _parameters(parameters: dict[str, list[str]]) -> dict[str, list[str]]:
    unknown = sorted(set(parameters) - {"commands", "workingDirectory", "executionTimeout"})
    if unknown:
        raise InvalidParameters(f"Parameter \"{unknown[0]}\" is not defined in {DOCUMENT}.")
    if not parameters.get("commands"):
        raise InvalidParameters(f"Parameter \"commands\" is required by {DOCUMENT}.")
    timeout = (parameters.get("executionTimeout") or [str(DEFAULT_EXECUTION_TIMEOUT)])[0]
    if not timeout.isdigit() or not 1 <= int(timeout) <= MAX_EXECUTION_TIMEOUT:
        raise InvalidParameters(f"Parameter \"executionTimeout\" must be a whole number of seconds from 1 to "
                                f"{MAX_EXECUTION_TIMEOUT}: {timeout}")
    for name in ("workingDirectory", "executionTimeout"):
        if len(parameters.get(name, [])) > 1:
            raise InvalidParameters(f"Parameter \"{name}\" takes one value.")
    return {name: list(values) for name, values in parameters.items()}


def _managed(ctx) -> dict:
    """Instance id -> machine, for the instances whose profile has a role (their SSM agent can register)."""
    machines = ctx.state(Machines)
    with machines.lock:
        return {instance_id: machine for instance_id, machine in machines.machines.items()
                if machine.setup.role_arn and machine.state not in ("shutting-down", "terminated")}


def _instances(ctx, params: dict, managed: dict) -> list[str]:
    """The instances a SendCommand names, by InstanceIds or Targets, each a managed instance."""
    if bool(params.get("InstanceIds")) == bool(params.get("Targets")):
        raise InvalidParameters("Either InstanceIds or Targets must be given, and not both.")
    named = list(params.get("InstanceIds", []))
    backend = ec2_backends[ctx.account_id][ctx.region]
    for target in params.get("Targets", []):
        key, values = target["Key"], set(target["Values"])
        if key == "InstanceIds":
            named += sorted(values)
        elif key.startswith("tag:"):
            named += sorted(instance_id for instance_id in managed if any(
                tag["key"] == key[4:] and tag["value"] in values
                for tag in backend.get_instance(instance_id).get_tags()))
        else:
            raise InvalidParameters(f"local_aws targets instances by InstanceIds and tag:<key>, not {key}.")
    unmanaged = [instance_id for instance_id in named if instance_id not in managed]
    if unmanaged:
        raise InvalidInstanceId(f"Instances {unmanaged} not in a valid state for account {ctx.account_id}")
    return list(dict.fromkeys(named))


def _information(instance_id: str, machine) -> dict:
    online = machine.state == "running"
    return {"InstanceId": instance_id, "PingStatus": "Online" if online else "ConnectionLost",
            "LastPingDateTime": time.time() if online else machine.state_since,
            "AgentVersion": AGENT_VERSION, "IsLatestVersion": True, "PlatformType": "Linux",
            "PlatformName": _os_release("NAME"), "PlatformVersion": _os_release("VERSION_ID"),
            "ResourceType": "EC2Instance", "IPAddress": "127.0.0.1", "ComputerName": instance_id}


def _keep_output(ctx, command: Command, invocation: Invocation, stdout: Path, stderr: Path) -> None:
    """The whole output to S3 at the agent's key layout, where the command asks."""
    streams = {"stdout": stdout, "stderr": stderr}
    if command.output_bucket:
        prefix = f"{command.output_prefix.rstrip('/')}/" if command.output_prefix else ""
        for name, path in streams.items():
            if path.stat().st_size:
                key = f"{prefix}{command.command_id}/{invocation.instance_id}/{PLUGIN_DIRECTORY}/{name}"
                ctx.client("s3").upload_file(str(path), command.output_bucket, key)
                setattr(invocation, f"{name}_url", f"{ctx.platform.url}/{command.output_bucket}/{key}")


def _stream_output(ctx, command: Command, invocation: Invocation, stdout: Path, stderr: Path):
    """Ship the streams' lines to CloudWatch Logs as they are written (once a second), where the command asks,
    as the agent does; returns what ships the rest and stops."""
    if not command.cloudwatch.get("CloudWatchOutputEnabled"):
        return lambda: None
    logs = ctx.client("logs")
    group = command.cloudwatch.get("CloudWatchLogGroupName") or DEFAULT_LOG_GROUP
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    offsets = {"stdout": 0, "stderr": 0}
    created = set()
    stop = threading.Event()

    def ship(final: bool) -> None:
        for name, path in {"stdout": stdout, "stderr": stderr}.items():
            with open(path, "rb") as stream:
                stream.seek(offsets[name])
                data = stream.read()
            complete = data if final else data[:data.rfind(b"\n") + 1]
            lines = complete.decode("utf-8", "replace").splitlines()
            offsets[name] += len(complete)
            if not lines:
                continue
            log_stream = f"{command.command_id}/{invocation.instance_id}/aws-runShellScript/{name}"
            if name not in created:
                logs.create_log_stream(logGroupName=group, logStreamName=log_stream)
                created.add(name)
            now = int(time.time() * 1000)
            logs.put_log_events(logGroupName=group, logStreamName=log_stream,
                                logEvents=[{"timestamp": now, "message": line} for line in lines])

    def run() -> None:
        while not stop.wait(OUTPUT_SHIP_SECONDS):
            ship(final=False)

    thread = threading.Thread(target=run, name=f"ssm-output-{command.command_id}", daemon=True)
    thread.start()

    def end() -> None:
        stop.set()
        thread.join()
        ship(final=True)

    return end


def _invocation_shape(command: Command, invocation: Invocation, details: bool) -> dict:
    shape = {"CommandId": command.command_id, "InstanceId": invocation.instance_id, "Comment": command.comment,
             "DocumentName": command.document_name, "DocumentVersion": "1", "RequestedDateTime": command.requested,
             "Status": invocation.status, "StatusDetails": _details(invocation), "TraceOutput": "",
             "StandardOutputUrl": invocation.stdout_url, "StandardErrorUrl": invocation.stderr_url,
             "CommandPlugins": [], "CloudWatchOutputConfig": command.shape()["CloudWatchOutputConfig"]}
    if details:
        plugin = {"Name": PLUGIN, "Status": invocation.status, "StatusDetails": _details(invocation),
                  "ResponseCode": invocation.response_code,
                  "Output": (invocation.stdout + invocation.stderr)[:PLUGIN_OUTPUT_CHARACTERS],
                  "StandardOutputUrl": invocation.stdout_url, "StandardErrorUrl": invocation.stderr_url}
        if invocation.started is not None:
            plugin["ResponseStartDateTime"] = invocation.started
        if invocation.ended is not None:
            plugin["ResponseFinishDateTime"] = invocation.ended
        if command.output_bucket:
            plugin.update(OutputS3BucketName=command.output_bucket, OutputS3KeyPrefix=command.output_prefix or "")
        shape["CommandPlugins"] = [plugin]
    return shape


def _details(invocation: Invocation) -> str:
    # GetCommandInvocation and the lists spell the timeouts as people read them
    return {"DeliveryTimedOut": "Delivery Timed Out", "ExecutionTimedOut": "Execution Timed Out"}.get(
        invocation.details, invocation.details)


def _commands(ctx, params: dict) -> list[Command]:
    if params.get("CommandId"):
        return [_command(ctx, params["CommandId"])]
    commands = ctx.state(Commands)
    with commands.lock:
        return sorted(commands.commands.values(), key=lambda command: command.requested, reverse=True)


def _command(ctx, command_id: str) -> Command:
    command = ctx.state(Commands).commands.get(command_id)
    if command is None:
        raise InvalidCommandId(f"The command ID {command_id} is not valid")
    return command


def _paged(key: str, items: list, params: dict) -> dict:
    start = int(params.get("NextToken") or 0)
    size = params.get("MaxResults") or 50
    page = {key: items[start:start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page


def _iso(seconds: float | None) -> str:
    return "" if seconds is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + \
        f".{int(seconds % 1 * 1000):03d}Z"


def _elapsed(invocation: Invocation) -> str:
    if invocation.started is None:
        return ""
    seconds = (invocation.ended or time.time()) - invocation.started
    return f"PT{seconds:.3f}S"


def _os_release(field: str) -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            name, _, value = line.partition("=")
            if name == field:
                return value.strip('"')
    except OSError:
        pass
    return ""


def _answer(result: dict) -> Response:
    return Response(protocol.serialise(result), status=200, content_type="application/x-amz-json-1.1")
