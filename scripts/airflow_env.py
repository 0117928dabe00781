"""The Airflow environment the project's DAGs run in, wherever they run here (`make run`, `make up`, the
tests, the benchmarks): an AIRFLOW_HOME of its own, no example DAGs, this repository's `dags/` and
`plugins/`, the repository root and `plugins/` on PYTHONPATH (the DAGs import `model_code`), and a
profile; the `local` profile also gets the sample dataset that `python -m sample_dataset` builds.

    python scripts/airflow_env.py --home DIR [--profile local]   # `export` lines for a shell (make up)
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "dags"
PLUGINS = REPO / "plugins"
SAMPLE_ZIP = REPO / "build" / "sample" / "dogImages.zip"


def airflow_env(airflow_home: Path | str, profile: str, base: Mapping[str, str] | None = None,
                dags_folder: Path | str = DAGS) -> dict[str, str]:
    """`base` (this process's environment by default) with the project's Airflow settings on top."""
    base = os.environ if base is None else base
    env = dict(base)
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), str(PLUGINS), base.get("PYTHONPATH")])),
        "DOG_BREED_PROFILE": profile,
    })
    if profile == "local":
        env["DOG_BREED_LOCAL_DATASET_URL"] = SAMPLE_ZIP.as_uri()
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="the AIRFLOW_HOME")
    parser.add_argument("--profile", default="local", choices=["local", "aws"])
    args = parser.parse_args(argv)
    settings = airflow_env(args.home, args.profile, base={"PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    for name, value in sorted(settings.items()):
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
