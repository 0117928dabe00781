"""Lambda layers as state: a layer's versions, each an immutable zip unpacked once, numbered from 1 and never
reused. A deleted version is no longer listed or gettable, but functions configured with it keep running
it, as AWS keeps a copy for them (`LayerStore.content`)."""

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from local_aws.awslambda.functions import Code, ResourceNotFoundException, last_modified
from local_aws.clock import now
from local_aws.store import Store


@dataclass
class LayerVersion:
    layer_arn: str
    version: int
    code: Code
    details: dict  # Description, CompatibleRuntimes, CompatibleArchitectures, LicenseInfo, as given
    created: str = field(default_factory=lambda: last_modified(now()))

    @property
    def arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"

    def shape(self) -> dict:
        return {"Content": {"CodeSha256": self.code.sha256, "CodeSize": len(self.code.zip_bytes)},
                "LayerArn": self.layer_arn, "LayerVersionArn": self.arn, "Version": self.version,
                "Description": self.details.get("Description", ""), "CreatedDate": self.created,
                **{k: v for k, v in self.details.items() if k != "Description"}}

    def summary(self) -> dict:
        found = self.shape()
        found.pop("Content")
        found.pop("LayerArn")
        return found


@dataclass
class Layer:
    name: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict)
    versions: dict[int, LayerVersion] = field(default_factory=dict)
    last_version: int = 0


class LayerStore(Store[Layer]):
    missing_error = ResourceNotFoundException, "Layer version {arn} does not exist."
    taken_error = ResourceNotFoundException, "Layer {name} exists."  # never raised: publish adds to a layer

    def __init__(self, account_id: str, region: str):
        super().__init__(account_id, region)
        self._published: dict[str, LayerVersion] = {}  # every version ever published, deleted ones too

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{name}"

    def publish(self, name: str, code: Code, details: dict, directory: Path) -> LayerVersion:
        """A new version of the layer (made if it is new), its zip unpacked under `directory/<version>`."""
        with self.lock:
            layer = self.find(name)
            if layer is None:
                layer = Layer(name, self.arn(name))
                self.add(layer, [])
            layer.last_version += 1
            version = LayerVersion(layer.arn, layer.last_version, code, details)
            target = directory / str(version.version)
            target.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(io.BytesIO(code.zip_bytes)) as archive:
                archive.extractall(target)
            code.directory = target
            layer.versions[version.version] = version
            self._published[version.arn] = version
            return version

    def version(self, name: str, number: int) -> LayerVersion:
        with self.lock:
            layer = self.find(name)
            if layer is None or number not in layer.versions:
                raise ResourceNotFoundException("The resource you requested does not exist.")
            return layer.versions[number]

    def delete(self, name: str, number: int) -> None:
        """Unlisted from then on (AWS answers 204 even for a version that is not there)."""
        with self.lock:
            layer = self.find(name)
            if layer is not None:
                layer.versions.pop(number, None)

    def by_arn(self, arn: str) -> LayerVersion:
        """A listed version, by its version ARN."""
        name, _, number = arn.rsplit(":layer:", 1)[-1].partition(":")
        if not number.isdigit() or self.arn(name) + f":{number}" != arn:
            raise ResourceNotFoundException(f"Layer version {arn} does not exist.")
        return self.version(name, int(number))

    def content(self, arn: str) -> LayerVersion | None:
        """A version a function was configured with, even if deleted since."""
        with self.lock:
            return self._published.get(arn)
