"""Provisioned concurrency: environments of a version or alias started ahead of any invocation. A config is
IN_PROGRESS until that many environments have run their init code, then READY (or FAILED with the init
error); the invocations they serve are not cold starts, and traffic beyond them spills over to
on-demand environments. An environment whose runtime ends (killed, crashed) is replaced, as Lambda
recycles a provisioned environment: `Available...` dips while the new one runs its init, the config
stays READY unless the new one fails to initialise."""

import datetime
import threading
from dataclasses import dataclass, field

from local_aws.awslambda.environment import ExecutionEnvironment, InitFailed
from local_aws.awslambda.functions import last_modified
from local_aws.clock import now

IN_PROGRESS, READY, FAILED = "IN_PROGRESS", "READY", "FAILED"


@dataclass
class ProvisionedConfig:
    function_arn: str  # qualified with the version or alias
    requested: int
    status: str = IN_PROGRESS
    reason: str | None = None
    available: int = 0
    environments: list[ExecutionEnvironment] = field(default_factory=list)
    last_modified: datetime.datetime = field(default_factory=now)
    dropped: bool = False  # deleted or replaced by another config: nothing more is started for it
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shape(self) -> dict:
        shape = {"RequestedProvisionedConcurrentExecutions": self.requested,
                 "AvailableProvisionedConcurrentExecutions": self.available,
                 "AllocatedProvisionedConcurrentExecutions": self.available,
                 "Status": self.status, "LastModified": last_modified(self.last_modified)}
        if self.reason:
            shape["StatusReason"] = self.reason
        return shape


class ProvisionedConfigs:
    """The provisioned concurrency configs of one account and region, by function name and qualifier."""

    def __init__(self, account_id: str, region: str):
        self.lock = threading.Lock()
        self.configs: dict[tuple[str, str], ProvisionedConfig] = {}

    def total(self, function_name: str, excluding: str | None = None) -> int:
        """The provisioned concurrency requested for the function, but for the config of `excluding`."""
        with self.lock:
            return sum(c.requested for (name, qualifier), c in self.configs.items()
                       if name == function_name and qualifier != excluding)

    def allocated(self, function_name: str, qualifier: str | None) -> int:
        """The environments provisioned for the function's alias or version `qualifier` (0 for none)."""
        with self.lock:
            config = self.configs.get((function_name, qualifier)) if qualifier else None
            return config.available if config is not None else 0

    def take(self, function_name: str, qualifier: str | None = None) -> list[ProvisionedConfig]:
        """Remove and return the function's config for `qualifier` (None: every one of the function's)."""
        with self.lock:
            keys = [key for key in self.configs
                    if key[0] == function_name and qualifier in (None, key[1])]
            taken = [self.configs.pop(key) for key in keys]
        for config in taken:
            with config.lock:
                config.dropped = True
        return taken


def provision(config: ProvisionedConfig, prewarm) -> None:
    """Start the config's environments one by one (`prewarm()` starts one and returns it)."""
    for _ in range(config.requested):
        try:
            environment = prewarm()
        except InitFailed as failure:
            _failed(config, failure)
            return
        if not _keep(config, environment, prewarm):
            return
    config.status = READY


def _keep(config: ProvisionedConfig, environment: ExecutionEnvironment, prewarm) -> bool:
    """Count `environment` in the config and have it replaced if its runtime ends; False (and it is closed)
    if the config was dropped meanwhile."""
    with config.lock:
        if not config.dropped:
            environment.on_exit = lambda: threading.Thread(
                target=_replace, args=(config, environment, prewarm), daemon=True, name="lambda-reprovision").start()
            config.environments.append(environment)
            config.available = len(config.environments)
            return True
    environment.close()
    return False


def _replace(config: ProvisionedConfig, ended: ExecutionEnvironment, prewarm) -> None:
    with config.lock:
        if ended in config.environments:
            config.environments.remove(ended)
        config.available = len(config.environments)
        if config.dropped:
            return
    try:
        environment = prewarm()
    except InitFailed as failure:
        _failed(config, failure)
        return
    _keep(config, environment, prewarm)


def _failed(config: ProvisionedConfig, failure: InitFailed) -> None:
    config.status, config.reason = FAILED, f"FUNCTION_ERROR_INIT_FAILURE: {failure}"[:1024]
