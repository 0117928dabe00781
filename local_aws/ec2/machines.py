"""An EC2 instance's compute: the sandbox it runs in, its volumes, its user data and its console.

A machine boots by starting its sandbox (`local_aws.sandbox`, with power commands): the program is a
boot script that runs the instance's user data once, at its first boot, as cloud-init runs a script
(the user data must start with `#!`), and then keeps the instance up until it is stopped. Everything the
instance prints goes to its console log. Stopping kills every process of the instance and keeps its
volumes; terminating deletes the volumes whose `DeleteOnTermination` is true.

Volumes are directories of local AWS's state, `<files>/ec2/<instance id>/volumes/<device>`. The root
volume holds what the instance writes under `/root`, `/home`, `/opt` and `/srv`; each other
EBS volume of the block-device mapping is seen at `/mnt/<device>` (`/dev/sdf` at `/mnt/sdf`). `/tmp` lasts
until the instance stops. The rest of the file system is the host's system directories, read-only.

The machine reports each state it reaches through `on_state(name)`: pending, running, stopping, stopped,
shutting-down, terminated, as EC2 names them.
"""

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local_aws.sandbox import Mount, Sandbox, SandboxError, SandboxSpec, host_python_path

logger = logging.getLogger(__name__)

ROOT_VOLUME_DIRECTORIES = ("/root", "/home", "/opt", "/srv")
USER_DATA_PATH = "/var/lib/cloud/instance/user-data"
SSM_DIRECTORY = "/var/lib/amazon/ssm"
RAN_MARKER = "/var/lib/cloud/data/user-data-ran"  # on the instance's own state: user data runs once, ever
CONSOLE_BYTES = 64 * 1024  # GetConsoleOutput's most recent 64 KB
# $1: the user data script, $2: the marker that it ran (paths, so that a plain process gets the host's)
BOOT_SCRIPT = """
echo "local AWS: booting $(hostname)"
if [ -e "$1" ] && [ ! -e "$2" ]; then
    touch "$2"
    echo "cloud-init: running user data"
    "$1"
    echo "cloud-init: user data exited with status $?"
fi
echo "local AWS: $(hostname) is running"
exec sleep infinity
"""


@dataclass(frozen=True)
class Volume:
    device: str  # the mapping's device name, /dev/sda1
    directory: Path
    mount_point: str | None  # None: the root volume, whose directories are ROOT_VOLUME_DIRECTORIES
    delete_on_termination: bool = True


@dataclass(frozen=True)
class MachineSetup:
    instance_id: str
    directory: Path  # the instance's own directory of local AWS's state
    volumes: tuple[Volume, ...]
    user_data: bytes | None  # a script to run at first boot; None: no user data
    environment: dict[str, str]  # what the instance's processes get (endpoint, region, credentials)
    cpus: int | None
    minute_seconds: float
    shutdown_behavior: str = "stop"  # InstanceInitiatedShutdownBehavior: stop or terminate
    role_arn: str | None = None  # the instance profile's role: its processes act as it


class Machine:
    def __init__(self, setup: MachineSetup, on_state: Callable[[str], None],
                 start_sandbox: Callable[..., Sandbox]):
        self.setup = setup
        self._on_state = on_state
        self._start = start_sandbox  # the supervisor's, so that the edge's end ends the instance too
        self.state = "pending"
        self.state_since = time.time()  # when it reached its state (a stopped agent last pinged then)
        self.console_path = setup.directory / "console.log"
        # The host side of the SSM agent's SSM_DIRECTORY: orchestration, each command's script and output.
        self.ssm_directory = setup.directory / "ssm"
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()  # one power transition at a time

    def boot(self) -> None:
        """pending -> running: the sandbox is up and the boot script started (the user data at first boot)."""
        with self._lock:
            self.on_state("pending")
            try:
                self._sandbox = self._start_sandbox()
            except Exception as error:
                logger.exception("instance %s could not boot", self.setup.instance_id)
                self._append_console(f"local AWS: the instance could not boot: {error}\n")
                self.on_state("stopped")
                return
            self.on_state("running")

    def stop(self) -> None:
        """stopping -> stopped: every process ends, /tmp is emptied, the volumes stay."""
        with self._lock:
            self.on_state("stopping")
            self._end()
            self.on_state("stopped")

    def terminate(self) -> None:
        """shutting-down -> terminated: every process ends; volumes deleted per DeleteOnTermination."""
        with self._lock:
            self.on_state("shutting-down")
            self._end()
            for volume in self.setup.volumes:
                if volume.delete_on_termination:
                    shutil.rmtree(volume.directory, ignore_errors=True)
            self.on_state("terminated")

    def on_state(self, name: str) -> None:
        self.state = name
        self.state_since = time.time()
        self._on_state(name)

    def run(self, argv: list[str], env: dict[str, str], cwd: str, **popen_kwargs) -> subprocess.Popen:
        """Start `argv` on the running instance as root (its own process group); SandboxError if it is not up."""
        sandbox = self._sandbox
        if sandbox is None or self.state != "running":
            raise SandboxError(f"instance {self.setup.instance_id} is not running")
        return sandbox.run(argv, {**self._base_environment(), **env}, cwd=cwd, **popen_kwargs)

    def console_output(self) -> bytes:
        try:
            with open(self.console_path, "rb") as console:
                console.seek(0, 2)
                console.seek(max(0, console.tell() - CONSOLE_BYTES))
                return console.read()
        except FileNotFoundError:
            return b""

    def _start_sandbox(self) -> Sandbox:
        setup = self.setup
        mounts = []
        for volume in setup.volumes:
            volume.directory.mkdir(parents=True, exist_ok=True)
            if volume.mount_point is None:
                for directory in ROOT_VOLUME_DIRECTORIES:
                    source = volume.directory / directory.strip("/").replace("/", "-")
                    source.mkdir(exist_ok=True)
                    mounts.append(Mount(source, directory, writable=True))
            else:
                mounts.append(Mount(volume.directory, volume.mount_point, writable=True))
        self.ssm_directory.mkdir(exist_ok=True)
        mounts.append(Mount(self.ssm_directory, SSM_DIRECTORY, writable=True))
        cloud_data = setup.directory / "cloud-data"
        cloud_data.mkdir(exist_ok=True)
        mounts.append(Mount(cloud_data, RAN_MARKER.rsplit("/", 1)[0], writable=True))
        if setup.user_data is not None:
            cloud = setup.directory / "cloud"
            cloud.mkdir(exist_ok=True)
            script = cloud / "user-data"
            script.write_bytes(setup.user_data)
            script.chmod(0o755)
            mounts.append(Mount(cloud, USER_DATA_PATH.rsplit("/", 1)[0]))
        tmp = setup.directory / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)  # /tmp lasts until the instance stops
        tmp.mkdir()
        spec = SandboxSpec(name=setup.instance_id, root=setup.directory / "sandbox-root", mounts=tuple(mounts),
                           tmp_dir=tmp, cpus=setup.cpus, power=True, minute_seconds=setup.minute_seconds)
        environment = self._base_environment()
        with open(self.console_path, "ab") as console:
            return self._start(spec, ["/bin/sh", "-c", BOOT_SCRIPT, "boot", USER_DATA_PATH, RAN_MARKER],
                                 environment, cwd="/root",
                                 on_power=self._on_power, stdout=console, stderr=console)

    def _base_environment(self) -> dict[str, str]:
        # python3 is the interpreter local AWS runs on, with its packages (torch, boto3): the AMI's Python
        return {"PATH": host_python_path(), "HOME": "/root", "LANG": "C.UTF-8", **self.setup.environment}

    def _on_power(self, event: str) -> None:
        if event == "poweroff":
            # The instance shut itself down: its sandbox has ended; EC2 stops or terminates it.
            action = self.terminate if self.setup.shutdown_behavior == "terminate" else self.stop
            threading.Thread(target=action, name=f"ec2-{self.setup.instance_id}-shutdown", daemon=True).start()
        elif event == "reboot":
            self._append_console("local AWS: rebooted\n")

    def _end(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None
        shutil.rmtree(self.setup.directory / "tmp", ignore_errors=True)

    def _append_console(self, text: str) -> None:
        with open(self.console_path, "ab") as console:
            console.write(text.encode())
