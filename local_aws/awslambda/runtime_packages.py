"""What a function can import without having it in its zip: what AWS's Python runtimes provide (the
standard library, boto3 and its dependencies) and the runtime interface client, nothing else of the
environment local AWS runs in. A function that imports a package it did not package fails here as it
would on AWS (`Runtime.ImportModuleError`).

The runtime directory holds a link to each of those modules in local AWS's own site-packages; an
environment sees it read-only at `/var/runtime`, its interpreter started without site-packages (`-S`)
and with `PYTHONPATH=/var/task:/opt/python/lib/python3.X/site-packages:/opt/python:/var/runtime`, the order
AWS's runtimes use.
"""

import importlib.util
import sys
import threading
from pathlib import Path

RUNTIME_DIR = "/var/runtime"
PYTHONPATH = (f"/var/task:/opt/python/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages:"
              f"/opt/python:{RUNTIME_DIR}")
# boto3 with its dependencies (as the runtimes bundle it), then awslambdaric with its own.
MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six",
           "awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py")

_lock = threading.Lock()


def runtime_directory(parent: Path) -> Path:
    """`parent/runtime`, made once: a link per module of MODULES to where local AWS's Python has it."""
    directory = parent / "runtime"
    with _lock:
        if not directory.exists():
            staging = parent / "runtime.partial"
            staging.mkdir(parents=True, exist_ok=True)
            for name in MODULES:
                spec = importlib.util.find_spec(name)
                if spec is None or spec.origin is None:
                    raise RuntimeError(f"local AWS's Python lacks {name}, which Lambda functions import")
                origin = Path(spec.origin)
                source = origin.parent if origin.name == "__init__.py" else origin
                link = staging / source.name
                if not link.exists():
                    link.symlink_to(source)
            staging.rename(directory)
    return directory
