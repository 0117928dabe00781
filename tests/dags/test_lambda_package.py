"""The front door's deployment package: lambda/'s code and the requirements the runtime lacks, from the
installed distributions at exactly the pinned versions."""

import io
import zipfile
from pathlib import Path

import pytest

from dog_breed.lambda_package import PackagingError, build

REPO = Path(__file__).resolve().parents[2]


def test_the_package_holds_the_code_and_what_the_runtime_lacks_only():
    names = zipfile.ZipFile(io.BytesIO(build(REPO / "lambda", REPO / "lambda" / "requirements.txt"))).namelist()
    assert "handler.py" in names and "front_door/settings.py" in names
    assert "aws_lambda_powertools/__init__.py" in names and "typing_extensions.py" in names
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"boto3", "botocore", "jmespath", "urllib3", "tests", "requirements.txt"}
    assert not any("__pycache__" in name for name in names)


def test_a_pin_the_environment_does_not_satisfy_is_refused(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("aws-lambda-powertools==0.0.1\n")
    with pytest.raises(PackagingError, match="pins aws-lambda-powertools==0.0.1"):
        build(REPO / "lambda", requirements)
    requirements.write_text("no-such-package-anywhere==1.0\n")
    with pytest.raises(PackagingError, match="no-such-package-anywhere is not installed"):
        build(REPO / "lambda", requirements)


def test_the_same_code_packs_to_the_same_bytes_whatever_the_files_dates(tmp_path):
    import os
    import shutil

    source = tmp_path / "lambda"
    shutil.copytree(REPO / "lambda", source, ignore=shutil.ignore_patterns("__pycache__"))
    first = build(source, source / "requirements.txt")
    for path in source.rglob("*.py"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    assert build(source, source / "requirements.txt") == first
    (source / "handler.py").write_text((source / "handler.py").read_text() + "\n# changed\n")
    assert build(source, source / "requirements.txt") != first
