"""A Lambda execution environment (issue 14, execution): a sandbox running awslambdaric against local AWS's
Runtime API, through the environment's own interface (the Invoke action comes with the control plane)."""

import contextlib
import functools
import json
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from local_aws.awslambda.environment import ExecutionEnvironment, FunctionSetup, InitFailed
from local_aws.awslambda.runtime_packages import runtime_directory

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="environments run in Linux namespace sandboxes")

HANDLER = '''
import json, os, signal, threading, time

import boto3  # from the runtime, as on AWS: not in the zip

COLD_STARTS = 0
COLD_STARTS += 1


def handler(event, context):
    if event.get("fail"):
        raise ValueError("the event asked to fail")
    if event.get("die"):  # the runtime is killed mid-invocation, as the OOM killer would
        os.kill(os.getpid(), signal.SIGKILL)
    if "die_after" in event:  # ... or after answering, while the environment is idle
        threading.Timer(event["die_after"], os.kill, args=(os.getpid(), signal.SIGKILL)).start()
    time.sleep(event.get("sleep", 0))
    writable = {}
    for path in ("/var/task/x", "/tmp/x"):
        try:
            open(path, "w").write("x")
            writable[path] = True
        except OSError:
            writable[path] = False
    return {"echo": event, "cold_starts": COLD_STARTS, "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "request_id": context.aws_request_id, "remaining_ms": context.get_remaining_time_in_millis(),
            "writable": writable, "cwd": os.getcwd(), "boto3": boto3.__version__, "variable": os.environ["GREETING"]}
'''


@pytest.fixture
def environment(tmp_path):
    with contextlib.ExitStack() as made:
        yield functools.partial(_environment, tmp_path, made)


def _environment(tmp_path, made: contextlib.ExitStack, source: str = HANDLER, **setup) -> ExecutionEnvironment:
    """An environment of a function whose app.py is `source` (closed after the test)."""
    number = len(list(tmp_path.glob("code-*")))
    code = tmp_path / f"code-{number}"
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent(source))
    defaults = dict(name="echo", arn="arn:aws:lambda:us-east-1:123456789012:function:echo", handler="app.handler",
                    code_dir=code, runtime_dir=runtime_directory(tmp_path), region="us-east-1",
                    environment={"GREETING": "hello"})
    env = ExecutionEnvironment(FunctionSetup(**{**defaults, **setup}), tmp_path / f"env-{number}",
                               tmp_path / f"env-{number}.log")
    made.callback(env.close)
    return env


def test_an_invocation_runs_the_handler_and_the_environment_stays_warm(environment):
    env = environment()
    env.start()
    first = env.invoke(json.dumps({"n": 1}).encode())
    second = env.invoke(json.dumps({"n": 2}).encode())
    answer = json.loads(first.payload)
    assert first.function_error is None and answer["echo"] == {"n": 1}
    assert answer["function"] == "echo" and answer["variable"] == "hello" and answer["cwd"] == "/var/task"
    assert answer["writable"] == {"/var/task/x": False, "/tmp/x": True}
    assert 0 < answer["remaining_ms"] <= 3000 and answer["boto3"]
    assert first.init_duration_ms is not None and second.init_duration_ms is None
    assert json.loads(second.payload)["cold_starts"] == 1  # the same process, warm
    assert json.loads(second.payload)["request_id"] != answer["request_id"]


def test_an_unhandled_exception_answers_aws_error_object(environment):
    env = environment()
    env.start()
    result = env.invoke(b'{"fail": true}')
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled"
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "the event asked to fail")
    assert any("raise ValueError" in line for line in error["stackTrace"])
    assert json.loads(env.invoke(b"{}").payload)["cold_starts"] == 1  # the environment survives an error


def test_a_timed_out_invocation_ends_the_environment(environment):
    env = environment(timeout_seconds=0.5)
    env.start()
    result = env.invoke(b'{"sleep": 5}')
    assert result.function_error == "Unhandled" and env.closed
    assert json.loads(result.payload) == {"errorType": "Sandbox.Timedout",
                                          "errorMessage": "Task timed out after 0.50 seconds"}


@pytest.mark.parametrize("sandbox", ["namespaces", "none"])
def test_a_runtime_killed_mid_invocation_answers_runtime_exit_error_at_once_and_ends_the_environment(
    environment, monkeypatch, sandbox
):
    if sandbox == "none":
        monkeypatch.setenv("LOCAL_AWS_SANDBOX", "none")
    env = environment(timeout_seconds=30)
    env.start()
    ended = []
    env.on_exit = lambda: ended.append(True)
    result = env.invoke(b'{"die": true}')
    error = json.loads(result.payload)
    assert result.function_error == "Unhandled" and env.closed and ended == [True]
    assert error == {"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {result.request_id} Error: "
                                                                       "Runtime exited with error: signal: killed"}
    assert result.duration_ms < 10_000  # not the function's 30 s timeout
    assert "Status: error\tError Type: Runtime.ExitError" in result.log


def test_a_runtime_that_ends_while_idle_closes_its_environment(environment):
    env = environment()
    env.start()
    ended = threading.Event()
    env.on_exit = ended.set
    assert env.invoke(b'{"die_after": 0.2}').function_error is None
    assert ended.wait(10) and env.closed


def test_an_init_error_is_reported_as_the_runtime_reports_it(environment):
    env = environment("import not_a_module\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(InitFailed) as failed:
        env.start()
    error = json.loads(failed.value.payload)
    assert error["errorType"] == "Runtime.ImportModuleError" and "not_a_module" in error["errorMessage"]
    assert env.closed


@pytest.mark.parametrize("package", ["aws_lambda_powertools", "moto", "torch"])
def test_a_function_imports_only_what_it_packaged_and_the_runtime_provides(environment, package):
    """local AWS's own packages are not a function's: one it did not package fails as on AWS."""
    env = environment(f"import {package}\n\ndef handler(event, context):\n    return 1\n")
    with pytest.raises(InitFailed) as failed:
        env.start()
    error = json.loads(failed.value.payload)
    assert error["errorType"] == "Runtime.ImportModuleError" and package in error["errorMessage"]


def test_a_packaged_module_imports_from_the_zip(environment, tmp_path):
    env = environment("import helper\n\ndef handler(event, context):\n    return helper.VALUE\n")
    (env.setup.code_dir / "helper.py").write_text("VALUE = 42\n")
    env.start()
    assert json.loads(env.invoke(b"{}").payload) == 42


def test_without_a_sandbox_the_function_runs_from_its_code_with_the_runtimes_packages(environment, monkeypatch):
    """LOCAL_AWS_SANDBOX=none: no /var/task or /var/runtime exists, so the environment's paths name the host's."""
    monkeypatch.setenv("LOCAL_AWS_SANDBOX", "none")
    env = environment()
    env.start()
    answer = json.loads(env.invoke(b'{"n": 1}').payload)
    assert answer["echo"] == {"n": 1} and answer["boto3"] and answer["cwd"] == str(env.setup.code_dir)
