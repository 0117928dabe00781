"""The first process of a sandbox (PID 1 of its PID namespace): builds the sandbox's file system, starts
the sandbox's program, reaps every orphan, and ends the sandbox when the program ends, when local AWS
asks, or when local AWS is gone.

`unshare --user --map-root-user --mount --pid --uts --fork` runs it as `python -I -S init.py SPEC_JSON`,
root of a user namespace of its own. It imports nothing but the standard library (it runs before the
file system it builds exists) and reports on the status pipe: `ready` once the program runs,
`unrunnable <why>` when the program cannot be executed, or `error <why>` when the sandbox cannot be
built. The lifeline pipe is held open by local AWS: when it reads end-of-file (local AWS closed it, or
died, even by SIGKILL) the sandbox ends.

Mounts, in a fresh tmpfs that becomes the root (pivot_root, the host's root detached):
the host's system directories and the spec's read-only mounts, recursively read-only; `/proc` of the
sandbox's own PID namespace; `/dev` with null, zero, full, random, urandom and tty only (and a `/dev/shm`
tmpfs if the spec sizes one); `/tmp` a
size-limited tmpfs or a directory of local AWS's state; `/run` and `/var/tmp` small tmpfs; the spec's
writable mounts.
"""

import ctypes
import json
import os
import signal
import sys
import threading
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000
MNT_DETACH = 0x2
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYS_PIVOT_ROOT, SYS_MOUNT_SETATTR = 155, 442  # x86_64
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda value: None if value is None else value.encode()  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {source or fstype} on {target}")


def read_only(target: str, recursive: bool = True) -> None:
    """Make the mount at `target` (and every mount under it) read-only: mount_setattr, Linux 5.12+."""
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, target.encode(), AT_RECURSIVE if recursive else 0,
                         ctypes.byref(attr), ctypes.sizeof(attr)), f"read-only {target}")


def bind(source: str, target: str, writable: bool) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    if not writable:
        read_only(target)


def _is_under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory + "/")


def build_root(spec: dict) -> str:
    root = spec["root"]  # an empty directory of local AWS's state, private to this sandbox
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    # Mounted once what they lie under is: local AWS's own Python may live under the host's /tmp, or under
    # /root where an instance's root volume is mounted.
    later = [(source, target) for source, target in spec["read_only"]
             if any(_is_under(target, over) for over in ["/tmp", *(writable for _, writable in spec["writable"])])]
    for source, target in spec["read_only"]:
        if (source, target) in later:
            continue
        if os.path.islink(source) and source == target:
            # A merged /usr's /bin -> usr/bin stays a link, as does a virtualenv's path to its real directory.
            os.makedirs(os.path.dirname(root + target), exist_ok=True)
            os.symlink(os.readlink(source), root + target)
        elif os.path.exists(source):
            bind(source, root + target, writable=False)
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(root + "/dev")
    mount("dev", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for device in DEVICES:
        if os.path.exists("/dev/" + device):
            bind("/dev/" + device, f"{root}/dev/{device}", writable=True)
    os.symlink("/proc/self/fd", root + "/dev/fd")
    if spec["shm_bytes"] is not None:
        os.makedirs(root + "/dev/shm")
        mount("shm", root + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              f"mode=1777,size={spec['shm_bytes']}")
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{number}", f"{root}/dev/{name}")
    os.makedirs(root + "/tmp")
    if spec["tmp_dir"] is not None:
        bind(spec["tmp_dir"], root + "/tmp", writable=True)
    else:
        mount("tmp", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={spec['tmp_bytes']}")
    for small in ("/run", "/var/tmp"):
        os.makedirs(root + small, exist_ok=True)
        mount("run", root + small, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=16m")
    for source, target in spec["writable"]:
        bind(source, root + target, writable=True)
    for source, target in later:
        bind(source, root + target, writable=False)
    if spec["power"]:
        install_power_commands(root)
    os.makedirs(root + "/.host", exist_ok=True)
    _check(_libc.syscall(SYS_PIVOT_ROOT, root.encode(), (root + "/.host").encode()), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.host", MNT_DETACH), "detach the host's root")
    os.rmdir("/.host")
    read_only("/", recursive=False)  # the root itself: nothing but the writable mounts above can be written
    return root


SHIM = """#!/bin/sh
# local AWS: power commands act on this sandbox (an instance), never on the machine it runs on.
request() { printf '%s\\n' "$*" > /run/local-aws/power; }
case "$(basename "$0")" in
    systemctl)
        case "$1" in
            poweroff|halt) request poweroff now ;;
            reboot) request reboot now ;;
            *) echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2; exit 1 ;;
        esac ;;
    poweroff|halt) request poweroff now ;;
    reboot) request reboot now ;;
    shutdown)
        action=poweroff; when=+1
        for argument in "$@"; do
            case "$argument" in
                -r|--reboot) action=reboot ;;
                -c) request cancel; exit 0 ;;
                -k) exit 0 ;;
                now|+*|[0-9]*:[0-9]*) when=$argument ;;
                -*) ;;
                *) break ;;
            esac
        done
        request "$action" "$when" ;;
esac
"""
POWER_COMMANDS = ("shutdown", "poweroff", "halt", "reboot", "systemctl")


def install_power_commands(root: str) -> None:
    """The power commands, wherever the host keeps them and in /usr/local/sbin, replaced by the shim
    (read-only): they ask PID 1 through the FIFO /run/local-aws/power."""
    os.makedirs(root + "/usr/local/sbin", exist_ok=True)
    mount("power", root + "/usr/local/sbin", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
    for name in POWER_COMMANDS:
        with open(f"{root}/usr/local/sbin/{name}", "w") as shim:
            shim.write(SHIM)
        os.chmod(f"{root}/usr/local/sbin/{name}", 0o755)
    read_only(root + "/usr/local/sbin")
    replaced = set()
    for name in POWER_COMMANDS:
        for directory in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            real = os.path.realpath(f"{directory}/{name}")
            if os.path.isfile(real) and real not in replaced and os.path.exists(root + real):
                replaced.add(real)
                bind(f"{root}/usr/local/sbin/{name}", root + real, writable=False)


class Init:
    """PID 1 once the sandbox is built: runs the program, reaps, and acts on power requests."""

    def __init__(self, spec: dict, status):
        self.spec = spec
        self.status = status
        self.lock = threading.Lock()
        self.program = 0
        self.rebooting = False
        self.scheduled: threading.Timer | None = None

    def report(self, line: str) -> None:
        with self.lock:
            try:
                self.status.write(line + "\n")
            except (OSError, ValueError):
                pass  # local AWS stopped listening; the lifeline ends the sandbox

    def start_program(self) -> None:
        self.program = _start(self.spec)

    def reap(self) -> int:
        """Reap every child (orphans of the namespace come to PID 1) until the program ends for good."""
        while True:
            pid, wait_status = os.wait()
            if pid != self.program:
                continue
            with self.lock:
                rebooting, self.rebooting = self.rebooting, False
            if rebooting:
                self.start_program()
                continue
            return os.waitstatus_to_exitcode(wait_status) if os.WIFEXITED(wait_status) else 128 + os.WTERMSIG(
                wait_status)

    def serve_power_requests(self) -> None:
        # Opened for reading and writing, the FIFO never reports end-of-file between two writers.
        with os.fdopen(os.open("/run/local-aws/power", os.O_RDWR), "rb", buffering=0) as requests:
            for line in requests:
                self.on_request(line.decode(errors="replace").split())

    def on_request(self, words: list[str]) -> None:
        if words == ["cancel"]:
            self._cancel_scheduled()
            self.report("power cancelled")
            return
        if len(words) != 2 or words[0] not in ("poweroff", "reboot"):
            return
        action, when = words
        delay = _minutes_until(when) * self.spec["minute_seconds"]
        self._cancel_scheduled()
        if delay <= 0:
            self.act(action)
            return
        self.report(f"power scheduled {action} {when}")
        self.scheduled = threading.Timer(delay, self.act, args=(action,))
        self.scheduled.daemon = True
        self.scheduled.start()

    def act(self, action: str) -> None:
        self.report(f"power {action}")
        if action == "reboot":
            with self.lock:
                self.rebooting = True
            _signal(-1, signal.SIGKILL)  # from PID 1: every other process of the namespace
        else:
            _signal(-1, signal.SIGKILL)
            os._exit(0)

    def _cancel_scheduled(self) -> None:
        if self.scheduled is not None:
            self.scheduled.cancel()
            self.scheduled = None


def _minutes_until(when: str) -> float:
    """`shutdown`'s time argument in minutes from now: `now`, `+N`, or `HH:MM` (the next such time)."""
    if when == "now":
        return 0
    if when.startswith("+"):
        return float(when[1:]) if when[1:].isdigit() else 1
    hours, _, minutes = when.partition(":")
    if not (hours.isdigit() and minutes.isdigit()):
        return 1
    now = time.localtime()
    wanted = (int(hours) * 60 + int(minutes)) - (now.tm_hour * 60 + now.tm_min)
    return wanted if wanted >= 0 else wanted + 24 * 60


def main() -> int:
    spec = json.loads(sys.argv[1])
    status = os.fdopen(spec["status_fd"], "w", buffering=1)
    init = Init(spec, status)
    try:
        build_root(spec)
        if spec["hostname"]:
            _check(_libc.sethostname(spec["hostname"].encode(), len(spec["hostname"])), "sethostname")
        if spec["power"]:
            os.makedirs("/run/local-aws")
            os.mkfifo("/run/local-aws/power", 0o622)
        if spec["cpus"]:
            os.sched_setaffinity(0, spec["cpus"])
        init.start_program()
    except Unrunnable as error:
        status.write(f"unrunnable {error}\n")
        return 127
    except OSError as error:
        status.write(f"error {error}\n")
        return 125
    init.report("ready")
    threading.Thread(target=_end_with_lifeline, args=(spec["lifeline_fd"], init), daemon=True).start()
    if spec["power"]:
        threading.Thread(target=init.serve_power_requests, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda signum, frame: _signal(init.program, signal.SIGTERM))
    return init.reap()


class Unrunnable(Exception):
    """The program could not be executed: the message says which and why."""


def _start(spec: dict) -> int:
    """Fork the program: it runs as the sandbox's root user in `cwd` with exactly `env`. Unrunnable if it
    cannot be executed (the child tells through a close-on-exec pipe, which a successful exec closes)."""
    told, tell = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(told)
        program = spec["argv"][0]
        try:
            for fd in (spec["status_fd"], spec["lifeline_fd"]):
                os.close(fd)
            try:
                os.chdir(spec["cwd"])
            except OSError as error:
                raise OSError(error.errno, f"no working directory {spec['cwd']}: {error.strerror}") from None
            os.execvpe(program, spec["argv"], spec["env"])
        except OSError as error:
            os.write(tell, f"cannot run {program}: {error.strerror}".encode())
        os._exit(127)
    os.close(tell)
    with os.fdopen(told, "rb") as reason:
        failure = reason.read().decode(errors="replace")
    if failure:
        os.waitpid(pid, 0)
        raise Unrunnable(failure)
    return pid


def _end_with_lifeline(fd: int, init: Init) -> None:
    while os.read(fd, 1):
        pass
    _signal(-1, signal.SIGKILL)
    os._exit(137)  # PID 1 ending ends every process of the namespace


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main())
