"""The first process of a sandbox (PID 1 of its PID namespace): builds the sandbox's file system, starts
the sandbox's program, reaps every orphan, and ends the sandbox when the program ends, when local AWS
asks, or when local AWS is gone.

`unshare --user --map-root-user --mount --pid --uts --fork` runs it as `python -I -S init.py SPEC_JSON`,
root of a user namespace of its own. It imports nothing but the standard library (it runs before the
file system it builds exists) and reports on the status pipe: `ready` once the program runs, or
`error <why>` when the sandbox cannot be built. The lifeline pipe is held open by local AWS: when it
reads end-of-file (local AWS closed it, or died, even by SIGKILL) the sandbox ends.

Mounts, in a fresh tmpfs that becomes the root (pivot_root, the host's root detached):
the host's system directories and the spec's read-only mounts, recursively read-only; `/proc` of the
sandbox's own PID namespace; `/dev` with null, zero, full, random, urandom and tty only; `/tmp` a
size-limited tmpfs or a directory of local AWS's state; `/run` and `/var/tmp` small tmpfs; the spec's
writable mounts.
"""

import ctypes
import json
import os
import signal
import sys
import threading

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
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    if not writable:
        read_only(target)


def build_root(spec: dict) -> str:
    root = spec["root"]  # an empty directory of local AWS's state, private to this sandbox
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for source, target in spec["read_only"]:
        if os.path.exists(source):
            bind(source, root + target, writable=False)
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(root + "/dev")
    mount("dev", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for device in DEVICES:
        if os.path.exists("/dev/" + device):
            bind("/dev/" + device, f"{root}/dev/{device}", writable=True)
    os.symlink("/proc/self/fd", root + "/dev/fd")
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
    os.makedirs(root + "/.host", exist_ok=True)
    _check(_libc.syscall(SYS_PIVOT_ROOT, root.encode(), (root + "/.host").encode()), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.host", MNT_DETACH), "detach the host's root")
    os.rmdir("/.host")
    read_only("/", recursive=False)  # the root itself: nothing but the writable mounts above can be written
    return root


def main() -> int:
    spec = json.loads(sys.argv[1])
    status = os.fdopen(spec["status_fd"], "w", buffering=1)
    try:
        build_root(spec)
        if spec["hostname"]:
            _check(_libc.sethostname(spec["hostname"].encode(), len(spec["hostname"])), "sethostname")
        if spec["cpus"]:
            os.sched_setaffinity(0, spec["cpus"])
        program = _start(spec)
    except OSError as error:
        status.write(f"error {error}\n")
        return 125
    status.write("ready\n")
    status.close()
    lifeline = spec["lifeline_fd"]
    threading.Thread(target=_end_with_lifeline, args=(lifeline, program), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda signum, frame: _signal(program, signal.SIGTERM))
    return _reap_until(program)


def _start(spec: dict) -> int:
    """Fork the program: it runs as the sandbox's root user in `cwd` with exactly `env`."""
    pid = os.fork()
    if pid == 0:
        try:
            for fd in (spec["status_fd"], spec["lifeline_fd"]):
                os.close(fd)
            os.chdir(spec["cwd"])
            os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
        except OSError as error:
            os.write(2, f"sandbox: cannot run {spec['argv'][0]}: {error}\n".encode())
        os._exit(127)
    return pid


def _end_with_lifeline(fd: int, program: int) -> None:
    while os.read(fd, 1):
        pass
    _signal(program, signal.SIGKILL)
    os._exit(137)  # PID 1 ending ends every process of the namespace


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reap_until(program: int) -> int:
    """Reap every child (orphans of the namespace come to PID 1) until the program ends; its status."""
    while True:
        pid, wait_status = os.wait()
        if pid == program:
            return os.waitstatus_to_exitcode(wait_status) if os.WIFEXITED(wait_status) else 128 + os.WTERMSIG(
                wait_status)


if __name__ == "__main__":
    sys.exit(main())
