"""Lambda functions as state: configuration, code, the states AWS reports (`State`, `LastUpdateStatus`),
and the wire shape of `FunctionConfiguration`.

A function is created `Pending`; local AWS unpacks its code in the background and moves it to `Active`
(or `Failed` with AWS's reason), so waiters (`function_active_v2`) see a real transition. Updates move
`LastUpdateStatus` `InProgress` -> `Successful` the same way.
"""

import base64
import datetime
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from local_aws.clock import now
from local_aws.exceptions import aws_error
from local_aws.store import Store

ResourceNotFoundException = aws_error("ResourceNotFoundException", 404)
PreconditionFailedException = aws_error("PreconditionFailedException", 412)
ResourceConflictException = aws_error("ResourceConflictException", 409)
InvalidParameterValueException = aws_error("InvalidParameterValueException")

PENDING, ACTIVE, FAILED = "Pending", "Active", "Failed"
IN_PROGRESS, SUCCESSFUL = "InProgress", "Successful"

# FunctionConfiguration members echoed from the request as given (or AWS's defaults).
_ECHOED = ("Runtime", "Role", "Handler", "Description", "Timeout", "MemorySize", "PackageType", "Architectures",
           "EphemeralStorage", "LoggingConfig", "Layers")
DEFAULTS = {"Description": "", "Timeout": 3, "MemorySize": 128, "PackageType": "Zip", "Architectures": ["x86_64"],
            "EphemeralStorage": {"Size": 512}, "TracingConfig": {"Mode": "PassThrough"}}


def last_modified(moment: datetime.datetime) -> str:
    """Lambda's timestamp format: 2024-05-01T12:00:00.000+0000."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass
class Code:
    zip_bytes: bytes
    sha256: str = ""  # base64 of the SHA-256 of the zip, as CodeSha256
    directory: Path | None = None  # unpacked, once the function is Active

    def __post_init__(self):
        self.sha256 = base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode()


@dataclass(frozen=True)
class Snapshot:
    """What one version of a function runs: `$LATEST` as it is now, or a published version as it was."""

    version: str  # "$LATEST" or "1", "2", ...
    settings: dict
    environment: dict[str, str]
    code: Code
    description: str
    revision_id: str
    last_modified: datetime.datetime


@dataclass
class Alias:
    name: str
    function_version: str
    description: str = ""
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class LambdaFunction:
    name: str
    arn: str
    settings: dict  # the configuration members above, defaults filled in
    environment: dict[str, str]
    code: Code  # what invocations run
    tags: dict[str, str] = field(default_factory=dict)
    pending_code: Code | None = None  # UpdateFunctionCode's, until it is unpacked
    versions: dict[str, Snapshot] = field(default_factory=dict)  # published, by number
    last_version: int = 0  # version numbers are never reused
    aliases: dict[str, Alias] = field(default_factory=dict)
    url_configs: dict = field(default_factory=dict)  # function URLs, by qualifier (None: $LATEST)
    policies: dict = field(default_factory=dict)  # resource-based policies, by qualifier (None: unqualified)
    state: str = PENDING
    state_reason: tuple[str, str] | None = ("Creating", "The function is being created.")
    last_update_status: str = SUCCESSFUL
    last_update_reason: tuple[str, str] | None = None
    last_modified: datetime.datetime = field(default_factory=now)
    revision_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def activate(self, directory: Path) -> None:
        """The code is unpacked: a new function is Active, an update Successful."""
        with self.lock:
            if self.pending_code is not None:
                self.code, self.pending_code = self.pending_code, None
                self.revision_id = str(uuid.uuid4())  # warm environments of the old code are not reused
            self.code.directory = directory
            self.state, self.state_reason = ACTIVE, None
            self.last_update_status, self.last_update_reason = SUCCESSFUL, None

    def begin_update(self, revision_id: str | None, settings: dict | None = None,
                     environment: dict[str, str] | None = None, code: Code | None = None) -> None:
        """UpdateFunctionConfiguration or UpdateFunctionCode: checked and applied under the function's lock;
        `LastUpdateStatus` is InProgress until `activate` (new code) or `finish_update`."""
        with self.lock:
            if revision_id is not None and revision_id != self.revision_id:
                raise PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                    "API to retrieve the latest Revision Id")
            if self.state != ACTIVE or self.last_update_status == IN_PROGRESS:
                raise ResourceConflictException(
                    f"The operation cannot be performed at this time. An update is in progress for resource: {self.arn}"
                    if self.last_update_status == IN_PROGRESS else "The operation cannot be performed at this time. "
                    f"The function is currently in the following state: {self.state}")
            self.settings.update(settings or {})
            if environment is not None:
                self.environment = environment
            if code is not None:
                self.pending_code = code
            self.last_update_status, self.last_update_reason = IN_PROGRESS, (
                "Creating", "The function is being updated.")
            self.last_modified = now()
            self.revision_id = str(uuid.uuid4())

    def finish_update(self) -> None:
        with self.lock:
            self.last_update_status, self.last_update_reason = SUCCESSFUL, None

    def fail(self, code: str, reason: str) -> None:
        with self.lock:
            self.pending_code = None
            if self.state == PENDING:
                self.state, self.state_reason = FAILED, (code, reason)
            self.last_update_status, self.last_update_reason = FAILED, (code, reason)

    def latest(self) -> Snapshot:
        with self.lock:
            return Snapshot("$LATEST", dict(self.settings), dict(self.environment), self.code,
                            self.settings.get("Description", ""), self.revision_id, self.last_modified)

    def resolve(self, qualifier: str | None) -> Snapshot:
        """The snapshot a qualifier names: `$LATEST` (or none), a version number, or an alias."""
        with self.lock:
            if qualifier in (None, "$LATEST"):
                pass
            elif qualifier in self.versions:
                return self.versions[qualifier]
            elif qualifier in self.aliases:
                return self.versions[self.aliases[qualifier].function_version]
            else:
                raise ResourceNotFoundException(f"Function not found: {self.arn}:{qualifier}")
        return self.latest()

    def publish(self, code_sha256: str | None, description: str | None, revision_id: str | None) -> Snapshot:
        """PublishVersion: a new version only when the code or configuration changed since the last one."""
        with self.lock:
            if self.state != ACTIVE or self.last_update_status == IN_PROGRESS:
                raise ResourceConflictException("The operation cannot be performed at this time. The function is "
                                                f"currently in the following state: {self.state if self.state != ACTIVE else 'Updating'}")
            if revision_id is not None and revision_id != self.revision_id:
                raise PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                    "API to retrieve the latest Revision Id")
            if code_sha256 is not None and code_sha256 != self.code.sha256:
                raise PreconditionFailedException(
                    f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST ({self.code.sha256}). "
                    "Please try again with the CodeSHA256 in $LATEST.")
            last = self.versions.get(str(self.last_version))
            if (last is not None and last.code.sha256 == self.code.sha256 and last.settings == self.settings
                    and last.environment == self.environment):
                return last
            self.last_version += 1
            number = str(self.last_version)
            snapshot = Snapshot(number, dict(self.settings), dict(self.environment), self.code,
                                self.settings.get("Description", "") if description is None else description,
                                str(uuid.uuid4()), now())
            self.versions[number] = snapshot
            return snapshot

    def configuration(self, snapshot: Snapshot | None = None) -> dict:
        """FunctionConfiguration of `$LATEST` (as it is, pending code included) or of a published version."""
        with self.lock:
            latest = snapshot is None or snapshot.version == "$LATEST"
            view = snapshot
            if latest:
                view = Snapshot("$LATEST", self.settings, self.environment, self.pending_code or self.code,
                                self.settings.get("Description", ""), self.revision_id, self.last_modified)
            described = {
                "FunctionName": self.name,
                "FunctionArn": self.arn if latest else f"{self.arn}:{view.version}",
                **{member: view.settings[member] for member in _ECHOED if view.settings.get(member) not in (None, [])},
                "Description": view.description,
                "CodeSize": len(view.code.zip_bytes),
                "CodeSha256": view.code.sha256,
                "LastModified": last_modified(view.last_modified),
                "Version": view.version,
                "TracingConfig": view.settings["TracingConfig"],
                "RevisionId": view.revision_id,
                "State": self.state if latest else ACTIVE,
                "LastUpdateStatus": self.last_update_status if latest else SUCCESSFUL,
            }
            if view.environment:
                described["Environment"] = {"Variables": dict(view.environment)}
            if latest and self.state_reason is not None:
                described["StateReasonCode"], described["StateReason"] = self.state_reason
            if latest and self.last_update_reason is not None:
                described["LastUpdateStatusReasonCode"], described["LastUpdateStatusReason"] = self.last_update_reason
            return described

    def alias_shape(self, alias: Alias) -> dict:
        return {"AliasArn": f"{self.arn}:{alias.name}", "Name": alias.name, "FunctionVersion": alias.function_version,
                "Description": alias.description, "RevisionId": alias.revision_id}


class FunctionStore(Store[LambdaFunction]):
    missing_error = ResourceNotFoundException, "Function not found: {arn}"
    taken_error = ResourceConflictException, "Function already exist: {name}"

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
