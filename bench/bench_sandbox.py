"""What a sandbox costs: making one and running `true` in it against running `true` directly, and a command
started in a running sandbox (nsenter) against the same command started directly, alternating, in one run.

    .venv/bin/python bench/bench_sandbox.py [--rounds 30]
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local_aws.sandbox import Sandbox, SandboxSpec  # noqa: E402

ENV = {"PATH": "/usr/bin:/bin"}


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        def sandboxed_true(index: int) -> None:
            sandbox = Sandbox.start(SandboxSpec(name="bench", root=Path(state) / f"root-{index}"), ["true"], ENV)
            sandbox.wait()
            sandbox.close()

        running = Sandbox.start(SandboxSpec(name="bench-running", root=Path(state) / "running"), ["sleep", "3600"], ENV)
        try:
            direct, made, direct_again, entered = [], [], [], []
            for index in range(args.rounds):
                direct.append(timed(lambda: subprocess.run(["true"], env=ENV, check=True)))
                made.append(timed(lambda: sandboxed_true(index)))
                direct_again.append(timed(lambda: subprocess.run(["true"], env=ENV, check=True)))
                entered.append(timed(lambda: running.run(["true"], ENV).wait()))
        finally:
            running.close()
    rows = [("true, directly", direct), ("new sandbox running true", made), ("true, directly (again)", direct_again),
            ("true in a running sandbox", entered)]
    for label, seconds in rows:
        print(f"{label:<28} median {statistics.median(seconds) * 1e3:7.2f} ms  (min {min(seconds) * 1e3:.2f}, "
              f"max {max(seconds) * 1e3:.2f})")
    print(f"ratio new sandbox / direct:        {statistics.median(made) / statistics.median(direct):6.1f}x")
    print(f"ratio in running sandbox / direct: {statistics.median(entered) / statistics.median(direct_again):6.1f}x"
          f"  (over {args.rounds} interleaved rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
