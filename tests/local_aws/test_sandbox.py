"""Sandboxes (issue 19) through the module's own interface: what runs inside cannot touch the host's
files or processes, sees its own /tmp only, and leaves nothing behind when it ends or when local AWS dies."""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from local_aws.sandbox import (MODE_VARIABLE, Mount, ProgramNotRunnable, Sandbox, SandboxSpec, SandboxUnavailable,
                               host_python_path, machine_report, unavailable_reason)
from local_aws.supervisor import Supervisor

REPO = Path(__file__).resolve().parents[2]
ENV = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="sandboxes are Linux namespaces")


def shell(script: str) -> list[str]:
    return ["/bin/sh", "-c", textwrap.dedent(script)]


@pytest.fixture
def start(tmp_path):
    """Start a sandbox running `script` (output piped); every one started is closed after the test."""
    made = []

    def start(script: str, env: dict[str, str] = ENV, **spec) -> Sandbox:
        name = f"sandbox-{len(made)}"
        sandbox = Sandbox.start(SandboxSpec(name=name, root=tmp_path / name, **spec), shell(script), env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        made.append(sandbox)
        return sandbox

    yield start
    for sandbox in made:
        sandbox.close()


def output(sandbox: Sandbox) -> str:
    out, _ = sandbox.process.communicate(timeout=30)
    assert sandbox.process.returncode == 0, out.decode()
    return out.decode()


def running(marker: str) -> list[int]:
    """PIDs of the host's processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def wait_for(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_this_machine_can_make_sandboxes():
    assert unavailable_reason() is None


def test_a_file_written_to_tmp_inside_is_seen_by_no_one_else(start, tmp_path):
    marker = f"secret-{uuid.uuid4().hex}"
    first = start(f"echo {marker} > /tmp/{marker}; exec sleep 60")
    inside = first.run(["/bin/sh", "-c", f"while ! test -e /tmp/{marker}; do sleep 0.05; done; cat /tmp/{marker}"],
                       ENV, stdout=subprocess.PIPE)
    assert inside.communicate(timeout=20)[0].decode() == f"{marker}\n"  # a later command shares the sandbox's /tmp
    assert output(start(f"test -e /tmp/{marker} && echo visible || echo invisible")) == "invisible\n"
    assert not Path(f"/tmp/{marker}").exists()
    assert not list(tmp_path.rglob(marker))


def test_the_home_and_the_checkout_are_neither_writable_nor_there(start):
    home = Path.home()
    found = output(start(f"""
        touch {home}/x 2>/dev/null && echo home-written
        touch {REPO}/x 2>/dev/null
        test -e {REPO}/README.md && echo checkout-visible
        test -e {home}/.bashrc && echo home-visible
        touch /etc/x 2>/dev/null && echo etc-written
        touch /usr/x 2>/dev/null && echo usr-written
        mkdir /new 2>/dev/null && echo root-written
        echo checked
    """))
    assert found == "checked\n"
    # Where the checkout lives under /tmp, the write above lands in the sandbox's own /tmp: never here.
    assert not (REPO / "x").exists() and not (home / "x").exists()


def test_the_process_table_holds_only_the_sandbox_and_the_host_cannot_be_signalled(start):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        found = output(start(f"""
            ps -e -o pid=,comm= | awk '{{print $2}}' | sort | tr '\\n' ' '; echo
            kill -9 {os.getpid()} {sleeper.pid} 2>/dev/null && echo signalled || echo refused
        """))
        listed, verdict = found.splitlines()
        assert set(listed.split()) <= {"python", "python3", "python3.11", "sh", "ps", "awk", "sort", "tr"}
        assert verdict == "refused" and sleeper.poll() is None
    finally:
        sleeper.kill()


def test_a_write_past_the_tmp_size_fails_with_enospc(start):
    found = output(start("dd if=/dev/zero of=/tmp/fill bs=1M count=4 2>&1 | grep -o 'No space left on device'; "
                         "rm /tmp/fill; dd if=/dev/zero of=/tmp/small bs=1k count=100 2>/dev/null && echo small-written",
                         tmp_bytes=2 * 1024 * 1024))
    assert found == "No space left on device\nsmall-written\n"


def test_mounts_are_where_the_spec_says_and_only_writable_ones_take_writes(start, tmp_path):
    code, volume = tmp_path / "code", tmp_path / "volume"
    code.mkdir()
    volume.mkdir()
    (code / "handler.py").write_text("print('hi')\n")
    found = output(start("""
        cat /var/task/handler.py
        touch /var/task/x 2>/dev/null && echo code-written
        echo data > /mnt/volume/file && echo volume-written
    """, mounts=(Mount(code, "/var/task"), Mount(volume, "/mnt/volume", writable=True))))
    assert found == "print('hi')\nvolume-written\n"
    assert (volume / "file").read_text() == "data\n" and not (code / "x").exists()


def test_a_host_directory_as_tmp_outlives_the_sandbox(start, tmp_path):
    tmp = tmp_path / "instance-tmp"
    tmp.mkdir()
    output(start("echo kept > /tmp/file", tmp_dir=tmp))
    assert (tmp / "file").read_text() == "kept\n"


def test_the_sandbox_is_held_to_its_cores(start):
    allowed = sorted(os.sched_getaffinity(0))
    found = output(start("grep Cpus_allowed_list /proc/self/status | awk '{print $2}'", cpus=1))
    assert found == f"{allowed[0]}\n"


def test_the_python_local_aws_runs_on_runs_inside_with_its_packages(start):
    found = output(start(f"{sys.executable} -c 'import botocore, sys; print(sys.prefix)'"))
    assert found == f"{sys.prefix}\n"


def test_pythons_and_pips_on_the_host_python_path_are_local_awss_and_run_inside(start):
    found = output(start('for name in python3 python pip3 pip; do command -v "$name"; done; pip3 --version',
                         env={"PATH": host_python_path()}))
    lines = found.splitlines()
    bin_dir = str(Path(sys.executable).parent)
    assert lines[:4] == [f"{bin_dir}/{name}" for name in ("python3", "python", "pip3", "pip")]
    assert lines[4].startswith("pip ")


def test_a_program_that_cannot_be_executed_is_refused_by_name(start, tmp_path):
    with pytest.raises(ProgramNotRunnable, match="cannot run /no/such/program: No such file or directory"):
        Sandbox.start(SandboxSpec(name="unrunnable", root=tmp_path / "root"), ["/no/such/program"], ENV)
    with pytest.raises(ProgramNotRunnable, match="cannot run sh: no working directory /nowhere"):
        Sandbox.start(SandboxSpec(name="unrunnable", root=tmp_path / "root"), ["sh"], ENV, cwd="/nowhere")
    assert not (tmp_path / "root").exists()


def test_shared_memory_is_there_only_when_sized(start):
    assert output(start("test -d /dev/shm || echo none")) == "none\n"
    found = output(start("df -B1 --output=size /dev/shm | tail -1; echo x > /dev/shm/x && cat /dev/shm/x",
                         shm_bytes=8 << 20))
    assert found.split() == [str(8 << 20), "x"]


def test_terminating_signals_the_program_then_kills_what_is_left(start):
    graceful = start("trap 'echo terminated; exit 0' TERM; sleep 60 & wait")
    time.sleep(0.3)
    graceful.terminate(grace_seconds=10)
    assert graceful.process.stdout.read().decode() == "terminated\n"
    stubborn = start("trap '' TERM; sleep 60 & wait; sleep 60")
    time.sleep(0.3)
    began = time.monotonic()
    stubborn.terminate(grace_seconds=0.5)
    assert stubborn.process.poll() is not None and time.monotonic() - began < 5


def test_ending_a_sandbox_leaves_no_process(start):
    marker = f"{uuid.uuid4().int % 10_000}.{os.getpid()}"
    sandbox = start(f"sleep {marker} & sleep {marker} & (sleep {marker} &) ; exec sleep {marker}")
    assert wait_for(lambda: len(running(f"sleep\0{marker}")) == 4)
    sandbox.close()
    assert wait_for(lambda: not running(f"sleep\0{marker}"))


def test_closing_an_ended_sandbox_again_leaves_a_new_one_on_its_root_alone(tmp_path):
    spec = SandboxSpec(name="again", root=tmp_path / "root")
    first = Sandbox.start(spec, shell("exec sleep 60"), ENV)
    first.close()
    second = Sandbox.start(spec, shell("exec sleep 60"), ENV)  # an instance started again: the same root
    try:
        first.close()
        first.terminate(grace_seconds=0.1)
        assert second.process.poll() is None and spec.root.is_dir()
    finally:
        second.close()


def test_the_edges_shutdown_ends_every_sandbox_before_it_returns(tmp_path):
    supervisor = Supervisor()
    marker = f"{uuid.uuid4().int % 10_000}.{os.getpid() + 2}"
    sandboxes = [supervisor.start_sandbox(SandboxSpec(name=f"host-{n}", root=tmp_path / f"host-{n}"),
                                          shell(f"trap '' TERM; sleep {marker} & wait; exec sleep {marker}"), ENV)
                 for n in range(2)]
    assert wait_for(lambda: len(running(f"sleep\0{marker}")) == 2)
    began = time.monotonic()
    supervisor.shutdown(grace_seconds=0.5)
    # Both ended within one grace (together, not one after the other), with nothing of theirs left.
    assert time.monotonic() - began < 5
    assert all(sandbox.process.poll() is not None for sandbox in sandboxes)
    assert running(f"sleep\0{marker}") == [] and running(str(tmp_path)) == []
    with pytest.raises(RuntimeError, match="shutting down"):
        supervisor.start_sandbox(SandboxSpec(name="late", root=tmp_path / "late"), shell("true"), ENV)


def test_local_aws_dying_by_sigkill_ends_its_sandboxes(tmp_path):
    marker = f"{uuid.uuid4().int % 10_000}.{os.getpid() + 1}"
    owner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from local_aws.sandbox import Sandbox, SandboxSpec
        Sandbox.start(SandboxSpec(name="orphan", root=Path({str(tmp_path / "orphan")!r})),
                      ["/bin/sh", "-c", "sleep {marker} & exec sleep {marker}"], {{"PATH": "/usr/bin:/bin"}})
        print("started", flush=True)
        time.sleep(120)
    """)], stdout=subprocess.PIPE)
    assert owner.stdout.readline() == b"started\n"
    assert wait_for(lambda: len(running(f"sleep\0{marker}")) == 2)
    owner.kill()
    owner.wait()
    assert wait_for(lambda: not running(f"sleep\0{marker}"))


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="as an unprivileged user every test here already is the proof")
def test_an_unprivileged_user_gets_a_sandbox_too():
    tmp_path = Path(tempfile.mkdtemp(prefix="sandbox-nobody-"))  # pytest's own tmp_path is private to root
    tmp_path.chmod(0o777)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from local_aws.sandbox import Sandbox, SandboxSpec
        sandbox = Sandbox.start(SandboxSpec(name="unprivileged", root=Path({str(tmp_path / "root")!r})),
                                ["/bin/sh", "-c", "id -u; touch /tmp/x && echo tmp-written"], {{"PATH": "/usr/bin:/bin"}})
        sys.exit(sandbox.wait())
    """)
    try:
        nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                                 "-c", script], capture_output=True, text=True, timeout=60, cwd="/")
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert (nobody.returncode, nobody.stdout) == (0, "0\ntmp-written\n"), nobody.stderr


def test_where_no_sandbox_can_be_made_the_refusal_names_the_cause(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable) as refused:
        Sandbox.start(SandboxSpec(name="i-refused", root=tmp_path / "root"), ["true"], ENV)
    assert "i-refused" in str(refused.value) and "unshare" in str(refused.value)
    assert not (tmp_path / "root").exists()


def test_without_sandboxes_by_choice_programs_run_plainly_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(MODE_VARIABLE, "none")
    code = tmp_path / "code"
    code.mkdir()
    with caplog.at_level(logging.WARNING, logger="local_aws.sandbox"):
        sandbox = Sandbox.start(SandboxSpec(name="i-plain", root=tmp_path / "root", mounts=(Mount(code, "/var/task"),)),
                                ["pwd"], ENV, cwd="/var/task", stdout=subprocess.PIPE)
        assert sandbox.process.communicate(timeout=10)[0].decode() == f"{code}\n"  # a mount's target is its source
        sandbox.close()
        # and so are the paths of its environment's path lists (a function's PYTHONPATH names /var/task)
        listed = Sandbox.start(SandboxSpec(name="i-plain", root=tmp_path / "root2", mounts=(Mount(code, "/var/task"),)),
                               ["sh", "-c", 'echo "$PYTHONPATH|$NAME"'],
                               {**ENV, "PYTHONPATH": "/var/task:/var/task/lib:/usr/lib", "NAME": "/var/task x"},
                               stdout=subprocess.PIPE)
        assert listed.process.communicate(timeout=10)[0].decode() == f"{code}:{code}/lib:/usr/lib|/var/task x\n"
        listed.close()
    assert any("i-plain" in record.getMessage() and "outside any sandbox" in record.getMessage()
               for record in caplog.records)


@pytest.fixture
def power_sandbox(tmp_path):
    """Start a sandbox with power commands; its power events are collected in `events`."""
    made = []

    def start(script: str, **spec):
        events = []
        name = f"instance-{len(made)}"
        sandbox = Sandbox.start(SandboxSpec(name=name, root=tmp_path / name, power=True, **spec), shell(script), ENV,
                                on_power=events.append, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        made.append(sandbox)
        return sandbox, events

    yield start
    for sandbox in made:
        sandbox.close()


@pytest.mark.parametrize("command", ["shutdown -h now", "poweroff", "/usr/sbin/halt", "systemctl poweroff",
                                     "/sbin/shutdown -P now 'going down'"])
def test_powering_off_inside_ends_the_sandbox_and_reports_it(power_sandbox, command):
    sandbox, events = power_sandbox(f"sleep 60 & {command}; exec sleep 60")
    assert sandbox.wait(timeout=20) == 0
    assert wait_for(lambda: events == ["poweroff"]), events


def test_a_reboot_kills_the_sandboxs_processes_and_starts_its_program_again(power_sandbox, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    sandbox, events = power_sandbox("""
        boots=$(( $(cat /state/boots 2>/dev/null || echo 0) + 1 )); echo $boots > /state/boots
        sleep 60 &
        if [ $boots -eq 1 ]; then reboot; exec sleep 60; fi
        echo "booted $boots times"
    """, mounts=(Mount(state, "/state", writable=True),))
    out, _ = sandbox.process.communicate(timeout=30)
    assert out.decode().endswith("booted 2 times\n") and events == ["reboot"]


def test_a_scheduled_shutdown_happens_on_time_unless_cancelled(power_sandbox):
    cancelled, cancelled_events = power_sandbox("shutdown -h +1; shutdown -c; sleep 1; echo still-running",
                                                minute_seconds=0.3)
    assert cancelled.process.communicate(timeout=20)[0].decode().endswith("still-running\n")
    assert cancelled_events == ["scheduled poweroff +1", "cancelled"]
    started = time.monotonic()
    scheduled, events = power_sandbox("shutdown -h +2 'maintenance'; exec sleep 60", minute_seconds=0.3)
    assert scheduled.wait(timeout=20) == 0
    assert time.monotonic() - started >= 0.6 and events == ["scheduled poweroff +2", "poweroff"]


def test_other_systemctl_verbs_fail_as_without_systemd_and_the_host_is_untouched(power_sandbox):
    sandbox, events = power_sandbox("systemctl start amazon-ssm-agent; echo status $?")
    out, _ = sandbox.process.communicate(timeout=20)
    assert out.decode().endswith("status 1\n") and events == []


def test_local_aws_says_at_start_what_its_sandboxes_enforce_and_what_they_cannot(monkeypatch):
    level, line = machine_report()
    assert level == logging.INFO and "namespaces" in line and "memory not limited" in line
    monkeypatch.setenv(MODE_VARIABLE, "none")
    assert machine_report()[0] == logging.WARNING and "plain processes" in machine_report()[1]
    monkeypatch.setenv(MODE_VARIABLE, "namespaces")
    monkeypatch.setenv("PATH", "/nonexistent")
    level, line = machine_report()
    assert level == logging.WARNING and "refused" in line and "unshare" in line
