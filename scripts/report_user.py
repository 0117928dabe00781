"""The Airflow user the `report` task sets the run's note as (plugins/dog_breed/run_notes.py), for `make up`:
`dog-breed-report`, role `user` of the simple auth manager (it may edit the DAGs' runs, nothing more). Its
password is generated once and kept in the simple auth manager's own password file (which keeps a password
it finds there); the `airflow_api` connection carries it to the tasks.

    eval "$(python scripts/report_user.py --passwords FILE --port 8080)"   # export lines for a shell

The password is written to the file (mode 0600) and into the exported connection only, never printed
otherwise."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import sys
from pathlib import Path

USER = "dog-breed-report"
ROLE = "user"


def ensure_password(passwords_file: Path) -> str:
    """The report user's password from the simple auth manager's file, added there if missing."""
    passwords = json.loads(passwords_file.read_text()) if passwords_file.is_file() and passwords_file.stat().st_size \
        else {}
    if USER not in passwords:
        passwords[USER] = secrets.token_urlsafe(24)
        passwords_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(passwords_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # a file that was there keeps its mode through os.open
        with os.fdopen(descriptor, "w") as out:
            json.dump(passwords, out)
    return passwords[USER]


def connection(host: str, port: int, password: str) -> str:
    return json.dumps({"conn_type": "http", "host": host, "port": port, "schema": "http", "login": USER,
                       "password": password})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passwords", required=True, type=Path, help="the simple auth manager's password file")
    parser.add_argument("--host", default="127.0.0.1", help="where the tasks reach the API server")
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args(argv)
    password = ensure_password(args.passwords)
    print(f"export AIRFLOW_CONN_AIRFLOW_API={shlex.quote(connection(args.host, args.port, password))}")
    print(f"export DOG_BREED_REPORT_USER={shlex.quote(f'{USER}:{ROLE}')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
