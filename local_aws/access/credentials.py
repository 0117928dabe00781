"""The local AWS key pair: the owner's credentials, which sign every request local AWS accepts from
outside IAM and STS.

Taken from `LOCAL_AWS_ACCESS_KEY_ID` and `LOCAL_AWS_SECRET_ACCESS_KEY` when both are set; otherwise
generated once per state dir. Either way it is written to `<state-dir>/credentials` in the AWS
shared-credentials format (profile `local`, mode 0600), so a client needs only
`AWS_SHARED_CREDENTIALS_FILE=<state-dir>/credentials AWS_PROFILE=local` and the secret never has to
pass through a command line, an environment dump or a log.
"""

import configparser
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY_VARIABLE = "LOCAL_AWS_ACCESS_KEY_ID"
SECRET_KEY_VARIABLE = "LOCAL_AWS_SECRET_ACCESS_KEY"
PROFILE = "local"
FILE_NAME = "credentials"
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True)
class KeyPair:
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print the secret
        return f"KeyPair(access_key_id={self.access_key_id!r})"


def generate() -> KeyPair:
    # The shape of an IAM user's key (AKIA + 16, 40-character secret); LKIA marks it as local AWS's own.
    access_key = "LKIA" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return KeyPair(access_key, secret)


def from_environment(environ: dict[str, str]) -> KeyPair | None:
    access_key, secret = environ.get(ACCESS_KEY_VARIABLE), environ.get(SECRET_KEY_VARIABLE)
    if bool(access_key) != bool(secret):
        raise ValueError(f"set both {ACCESS_KEY_VARIABLE} and {SECRET_KEY_VARIABLE}, or neither")
    return KeyPair(access_key, secret) if access_key else None


def read(path: Path) -> KeyPair | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_section(PROFILE):
        return None
    section = parser[PROFILE]
    if not section.get("aws_access_key_id") or not section.get("aws_secret_access_key"):
        return None
    return KeyPair(section["aws_access_key_id"], section["aws_secret_access_key"])


def write(path: Path, pair: KeyPair) -> None:
    text = (f"[{PROFILE}]\naws_access_key_id = {pair.access_key_id}\n"
            f"aws_secret_access_key = {pair.secret_access_key}\n")
    # Created 0600 before the secret is written, replaced atomically: never readable by others.
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.replace(partial, path)


def load_or_create(state_dir: Path, environ: dict[str, str] | None = None) -> KeyPair:
    """The key pair for the edge serving `state_dir`, written to its credentials file."""
    path = state_dir / FILE_NAME
    written = read(path)
    pair = from_environment(os.environ if environ is None else environ) or written or generate()
    if written != pair or (path.stat().st_mode & 0o077):
        write(path, pair)
    return pair


def client_environment(state_dir: Path) -> dict[str, str]:
    """What a client process needs to sign with the local key pair, the secret left in its file."""
    return {"AWS_SHARED_CREDENTIALS_FILE": str(state_dir / FILE_NAME), "AWS_PROFILE": PROFILE}


# Where boto3 finds credentials and the profile that picks them.
CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                        "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                        ACCESS_KEY_VARIABLE, SECRET_KEY_VARIABLE)


def without_credentials(environ: dict[str, str]) -> dict[str, str]:
    """`environ` less every way to credentials: what local AWS's children inherit from the user who
    started it (they act as the role local AWS gives them, never as that user or as local AWS)."""
    return {name: value for name, value in environ.items() if name not in CREDENTIAL_VARIABLES}
