"""Airflow for the pipeline tests: a throwaway AIRFLOW_HOME, no example DAGs, this project's dags/ and
plugins/, and the local profile. Set here, at import, because Airflow reads its configuration once,
when it is first imported; the tests import it lazily, after this file ran."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
PLUGINS = REPO / "plugins"

_airflow_home = tempfile.mkdtemp(prefix="dog-breed-airflow-")
atexit.register(shutil.rmtree, _airflow_home, ignore_errors=True)
for path in (str(REPO), str(PLUGINS)):
    if path not in sys.path:
        sys.path.insert(0, path)

from scripts.airflow_env import airflow_env  # noqa: E402

os.environ.update(airflow_env(_airflow_home, "local"))


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="session")
def pipeline(dagbag):
    return dagbag.dags["dog_breed_pipeline"]
