"""The report where a user looks (issue 22): the run's note, short enough for Airflow to keep, set through
Airflow's REST API as the `airflow_api` connection names it. The API here is a loopback stand-in that
answers as Airflow 3.3's does; `tests/browser` shows the note of a real run on `make up`'s UI."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from dog_breed import report, run_notes

SUMMARY = {
    "run_id": "manual__2026-12-07", "decision": {"deploy": True, "reason": "test accuracy 0.91 beats the serving 0.88"},
    "training_job": "dog-breed-train-1", "metrics": {"test_accuracy": 0.9123, "valid_accuracy": 0.93, "test_loss": 0.3},
    "endpoint": {"name": "dog-breed", "status": "InService", "smoke_accuracy": 1.0, "smoke_images": 6,
                 "hourly_cost": 0.115},
    "scaling": {"min": 1, "max": 3},
    "front_door": {"function": "dog-breed-front-door", "version": "4", "alias": "live", "reserved_concurrency": 3,
                   "provisioned_concurrency": 1, "url": "http://127.0.0.1:4566/lambda-url/abc/"},
    "ec2": None, "training_cost": 0.0123, "report_uri": "s3://bucket/dog-breed/reports/manual__2026-12-07.md",
}


def test_the_note_carries_outcome_metrics_endpoint_front_door_and_cost_and_ends_with_the_full_report():
    note = report.note(SUMMARY)
    assert note.splitlines() == [
        "**Deployed:** test accuracy 0.91 beats the serving 0.88",
        "- test_accuracy 0.9123, valid_accuracy 0.93, test_loss 0.3 (training job `dog-breed-train-1`)",
        "- endpoint `dog-breed` (InService): smoke test 1.0 on 6 images, $0.1150 per hour",
        "- autoscaling 1 to 3 instances",
        "- front door `dog-breed-front-door` v4 behind `live`: 3 reserved, 1 provisioned, "
        "URL http://127.0.0.1:4566/lambda-url/abc/",
        "- training cost $0.0123",
        "Full report: `s3://bucket/dog-breed/reports/manual__2026-12-07.md`",
    ]
    kept_out = report.note({**SUMMARY, "decision": {"deploy": False, "reason": "below the threshold"},
                            "endpoint": None, "scaling": None, "front_door": None, "training_cost": None})
    assert kept_out.splitlines()[0] == "**Not deployed:** below the threshold"
    assert "- training cost unknown" in kept_out and "endpoint" not in kept_out


def test_a_note_too_long_for_airflow_loses_its_last_lines_never_the_full_reports_uri():
    long = {**SUMMARY, "decision": {"deploy": False, "reason": "x" * 5000},
            "front_door": {**SUMMARY["front_door"], "url": "http://127.0.0.1/" + "u" * 600}}
    note = report.note(long)
    assert len(note) <= report.NOTE_MAX_CHARS
    assert note.splitlines()[0].endswith("…") and note.endswith(f"`{SUMMARY['report_uri']}`")
    assert "front door" not in note  # dropped whole, not cut


class FakeAirflowApi(BaseHTTPRequestHandler):
    """Airflow 3.3's two routes the note takes: the simple auth manager's token, the run's PATCH."""

    users = {"dog-breed-report": "s3cret"}
    seen: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/auth/token" or self.users.get(body.get("username")) != body.get("password"):
            return self._answer(401, {"detail": "Invalid credentials"})
        self._answer(201, {"access_token": f"token-of-{body['username']}"})

    def do_PATCH(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, self.headers["Authorization"], body))
        if self.headers["Authorization"] != "Bearer token-of-dog-breed-report":
            return self._answer(403, {"detail": "Forbidden"})
        self._answer(200, {"note": body["note"]})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAirflowApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeAirflowApi.seen = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def connection(port: int, password: str) -> str:
    return json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http",
                       "login": "dog-breed-report", "password": password})


def test_the_note_is_set_on_the_run_through_the_rest_api(api, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", connection(api, "s3cret"))
    assert run_notes.set_run_note("dog_breed_pipeline", "manual__2026-12-07T10:00:00+00:00", "**Deployed**")
    [(path, _, body)] = FakeAirflowApi.seen
    assert path == ("/api/v2/dags/dog_breed_pipeline/dagRuns/manual__2026-12-07T10%3A00%3A00%2B00%3A00"
                    "?update_mask=note")
    assert body == {"note": "**Deployed**"}


def test_a_refused_sign_in_fails_the_task_naming_the_user_and_the_connection(api, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AIRFLOW_API", connection(api, "wrong"))
    with pytest.raises(AirflowException, match="refused signing in to .* as 'dog-breed-report' "
                                               r"\(connection 'airflow_api'\): HTTP 401"):
        run_notes.set_run_note("dog_breed_pipeline", "r", "note")
    assert FakeAirflowApi.seen == []


def test_without_the_connection_no_note_is_set_and_the_log_says_why(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_AIRFLOW_API", raising=False)
    with caplog.at_level("WARNING", logger=run_notes.__name__):
        assert run_notes.set_run_note("dog_breed_pipeline", "r", "note") is False
    assert "no 'airflow_api' connection" in caplog.text


def test_make_ups_report_user_gets_a_password_once_kept_beside_the_admins_and_the_connection_to_match(tmp_path):
    import importlib.util
    import stat
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("report_user", Path(__file__).parents[2] / "scripts" / "report_user.py")
    report_user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report_user)
    passwords = tmp_path / "simple_auth_manager_passwords.json.generated"
    passwords.write_text(json.dumps({"admin": "kept"}))

    first = report_user.ensure_password(passwords)
    assert report_user.ensure_password(passwords) == first and len(first) >= 24
    assert json.loads(passwords.read_text()) == {"admin": "kept", "dog-breed-report": first}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    conn = json.loads(report_user.connection("127.0.0.1", 8080, first))
    assert (conn["login"], conn["password"], run_notes.api_base_url(type("C", (), {**conn, "conn_id": "x"}))) == (
        "dog-breed-report", first, "http://127.0.0.1:8080")
