"""The training toolkit pip-installs a source dir's requirements.txt; local_aws cannot install
anything, so it checks the file against the local environment instead and names what is missing."""

from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement


def unmet_requirements(requirements_file: Path) -> list[str]:
    unmet = []
    for line in requirements_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            unmet.append(f"{line} (pip options are not supported)")
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            unmet.append(f"{line} (not a valid requirement)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{line} (not installed)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{line} (installed: {installed})")
    return unmet
