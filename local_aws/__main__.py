"""`python -m local_aws [--port 4566] [--state-dir DIR] [--host 127.0.0.1]`: serve until SIGINT/SIGTERM.

Prints the `export` lines a client needs: the URL, the region, and the credentials file and profile
that hold the local key pair (never the secret itself)."""

import argparse
import logging
import signal
import sys
import time

from local_aws.server import LocalAWS

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_aws", description=__doc__)
    parser.add_argument("--port", type=int, default=4566, help="0 picks a free port")
    parser.add_argument("--state-dir", help="where jobs keep their files (default: a temporary dir)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind; anything but loopback exposes code execution to the network")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    if args.host not in LOOPBACK:
        logging.warning("binding %s: anyone who can reach it can run code on this machine", args.host)
    # A plain list, not a threading.Event: the handler runs in the main thread between bytecodes, and an
    # Event's set() would deadlock on the lock its own wait() holds at that moment (a stop once hung so).
    stop_signals: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop_signals.append(signum))
    with LocalAWS(port=args.port, host=args.host, state_dir=args.state_dir) as aws:
        for name, value in aws.profile_env.items():
            print(f"export {name}={value}", flush=True)
        # The kernel may hand SIGTERM to any thread; an untimed wait would then never let the main
        # thread run the Python handler (a bench once waited minutes for a stop), so wake twice a second.
        while not stop_signals:
            time.sleep(0.5)
        logging.info("stopping: ending child processes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
