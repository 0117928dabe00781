"""The run's note (what the UI shows in Markdown on the run's page), set through Airflow's REST API.

A task in Airflow 3 reaches Airflow's metadata only through the execution API, which can read a run's note
but not change it; the public REST API can (`PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}`), for a user
allowed to edit the DAG's runs. The connection `airflow_api` names the API server and that user:

    AIRFLOW_CONN_AIRFLOW_API='{"conn_type": "http", "host": "127.0.0.1", "port": 8080, "schema": "http",
                               "login": "dog-breed-report", "password": "..."}'

`make up` and the compose stack define it (a user of role `user` of the simple auth manager, its password
generated once and kept in Airflow's own password file); `make run` runs the DAG with `airflow dags test`,
which has no API server, so there the report is printed and no note is set. A connection that is defined
but refused (a wrong password, a user without the right) fails the task with the API's answer: the user
asked for a note."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from airflow.providers.common.compat.sdk import AirflowException, AirflowNotFoundException, BaseHook

CONN_ID = "airflow_api"
TIMEOUT_SECONDS = 30

log = logging.getLogger(__name__)


def set_run_note(dag_id: str, run_id: str, note: str, conn_id: str = CONN_ID) -> bool:
    """Set the run's note; False (logged) when no `conn_id` connection is defined."""
    try:
        connection = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.warning("The run's note is not set: no %r connection names Airflow's API server (make up and the "
                    "compose stack define one; airflow dags test has no API server).", conn_id)
        return False
    base = api_base_url(connection)
    with httpx.Client(base_url=base, timeout=TIMEOUT_SECONDS) as client:
        token = client.post("/auth/token", json={"username": connection.login, "password": connection.password})
        _raise_for(token, f"signing in to {base} as {connection.login!r} (connection {conn_id!r})")
        answer = client.patch(f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
                              params={"update_mask": "note"}, json={"note": note},
                              headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        _raise_for(answer, f"setting the note of {dag_id} run {run_id} at {base}")
    log.info("The run's note is set (%d characters).", len(note))
    return True


def api_base_url(connection: Any) -> str:
    """`http://host:port` of an HTTP connection (`schema` is the protocol, as the HTTP provider reads it)."""
    if not connection.host:
        raise AirflowException(f"connection {connection.conn_id!r} names no host of Airflow's API server")
    if "://" in connection.host:
        return connection.host.rstrip("/")
    port = f":{connection.port}" if connection.port else ""
    return f"{connection.schema or 'http'}://{connection.host}{port}"


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    raise AirflowException(f"Airflow's API refused {what}: HTTP {response.status_code} {response.text[:300]}")
