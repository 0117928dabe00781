"""The front door's deployment package, as Lambda takes it: the code of `lambda/` and, beside it, every
package its requirements pull in that AWS's Python runtime lacks (the runtime provides boto3 and its
dependencies), zipped.

The packages are copied from this environment's installed distributions, which must be exactly the
versions `lambda/requirements.txt` pins (the project's constraints install them), so building needs no
network and packs what the tests ran against. A pin this environment does not satisfy is an error
naming it, never a different version packed silently.
"""

import io
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

# What AWS's Python runtimes provide (boto3 and its dependencies): never packed.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"})


ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can say


class PackagingError(Exception):
    pass


def build(source_dir: Path, requirements_file: Path) -> bytes:
    """The zip of `source_dir`'s Python code and the distributions `requirements_file` needs. Its bytes depend
    on the files' names and contents only (entries sorted, one fixed date and mode), so the same code gives the
    same CodeSha256 and an unchanged function is not redeployed."""
    entries: dict[str, Path] = {}
    for path in sorted(source_dir.rglob("*.py")):
        if "__pycache__" not in path.parts:
            entries[path.relative_to(source_dir).as_posix()] = path
    for distribution in _closure(_pinned(requirements_file)):
        for file in distribution.files or []:
            located = Path(distribution.locate_file(file))
            if ".." in file.parts or "__pycache__" in file.parts or not located.is_file():
                continue  # scripts outside site-packages, caches
            entries[file.as_posix()] = located
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    return buffer.getvalue()


def _pinned(requirements_file: Path) -> list[Requirement]:
    requirements = []
    for line in requirements_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            installed = _installed(requirement.name)
            if not requirement.specifier.contains(installed.version, prereleases=True):
                raise PackagingError(f"{requirements_file} pins {line}, but this environment has "
                                     f"{requirement.name} {installed.version}")
            requirements.append(requirement)
    return requirements


def _closure(requirements: list[Requirement]) -> list[metadata.Distribution]:
    """The distributions of `requirements` and of everything they require (their markers evaluated, extras
    not taken), except what the runtime provides."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(requirements)
    while pending:
        requirement = pending.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in RUNTIME_PROVIDED or name in found:
            continue
        distribution = _installed(requirement.name)
        found[name] = distribution
        for text in distribution.requires or []:
            dependency = Requirement(text)
            if dependency.marker is None or dependency.marker.evaluate({"extra": ""}):
                pending.append(dependency)
    return [found[name] for name in sorted(found)]


def _installed(name: str) -> metadata.Distribution:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise PackagingError(f"{name} is not installed in this environment, so it cannot be packed")
