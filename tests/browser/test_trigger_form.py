"""The Airflow UI as `make up` serves it, driven by headless Chromium (Debian's `chromium` and
`chromium-driver`, with Selenium): log in, open dog_breed_pipeline's trigger form, choose
`training_backend=ec2` and change a parameter, trigger, and see the run succeed in the UI.

`.ci/run` installs Chromium when it is missing and sets DOG_BREED_REQUIRE_BROWSER=1, so in CI a missing
browser fails this test instead of skipping it."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
UP_SECONDS = 300
RUN_SECONDS = 600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def browser_unavailable() -> str | None:
    """Why no browser can be started here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-test.txt pins it)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: apt-get install {package} (.ci/run does)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = browser_unavailable()
    if reason:
        if os.environ.get("DOG_BREED_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here, but {reason}")
        pytest.skip(f"no headless browser: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def make_up(tmp_path_factory, browser):
    """`scripts/up.sh` (what `make up` runs) on free ports, with its own Airflow home, state and logs."""
    root = tmp_path_factory.mktemp("make-up")
    ui_port = free_port()
    env = {**os.environ, "AIRFLOW_HOME": str(root / "airflow"), "LOCAL_AWS_PORT": str(free_port()),
           "AIRFLOW__API__PORT": str(ui_port), "DOG_BREED_UP_LOGS": str(root / "logs"),
           "DOG_BREED_UP_AWS_STATE": str(root / "aws")}
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "PYTHONPATH"):
        env.pop(name, None)
    out = (root / "up.out").open("w+")
    up = subprocess.Popen(["bash", str(REPO / "scripts" / "up.sh")], cwd=REPO, env=env, stdout=out,
                          stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + UP_SECONDS
        while not (login := re.search(r"Airflow UI: (\S+)\s+login: admin / (\S+)", (root / "up.out").read_text())):
            assert up.poll() is None, f"make up exited: {(root / 'up.out').read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"make up did not serve within {UP_SECONDS} s"
            time.sleep(1)
        yield {"url": login.group(1), "password": login.group(2), "logs": root / "logs"}
    finally:
        os.killpg(up.pid, signal.SIGTERM)  # up.sh stops Airflow and local AWS on TERM
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        out.close()


def api(make_up, token, path):
    request = urllib.request.Request(f"{make_up['url']}/api/v2/{path}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def failed_logs(make_up, token, run, tasks) -> str:
    """The logs of the run's failed tasks, as the UI shows them."""
    logs = []
    for task_id in (task for task, state in tasks.items() if state == "failed"):
        content = api(make_up, token, f"dags/dog_breed_pipeline/dagRuns/{run['dag_run_id']}/taskInstances/{task_id}"
                                      "/logs/1?full_content=true")["content"]
        logs.append(f"{task_id}: " + "\n".join(str(e.get("event", e)) if isinstance(e, dict) else str(e)
                                              for e in content)[-2000:])
    return "\n".join(logs)


def set_text(browser, element_id, value):
    from selenium.webdriver.common.keys import Keys

    field = browser.find_element("id", element_id) if browser.find_elements("id", element_id) else \
        browser.find_element("name", element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE, str(value))


def choose(browser, element_id, value):
    """Pick `value` in one of the form's select fields (a react-select combobox)."""
    from selenium.webdriver.common.keys import Keys

    combobox = browser.find_element("css selector", f"#{element_id} input[role=combobox]")
    combobox.send_keys(value)
    combobox.send_keys(Keys.ENTER)
    hidden = browser.find_element("css selector", f"input[type=hidden][name={element_id}]")
    assert hidden.get_attribute("value") == value


def open_section(browser, title):
    """Expand one of the form's sections (config.SECTIONS): Airflow opens only its own default section."""
    from selenium.webdriver.common.by import By

    header = browser.find_element(By.XPATH, f"//button[@aria-expanded][normalize-space()='{title}']")
    if header.get_attribute("aria-expanded") != "true":
        header.click()


def test_the_trigger_form_runs_the_ec2_path_to_success(browser, make_up):
    from selenium.webdriver.common.by import By

    browser.get(make_up["url"] + "/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(make_up["password"])
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    deadline = time.monotonic() + 60
    while not (token := browser.get_cookie("_token")):
        assert time.monotonic() < deadline, "no session after signing in"
        time.sleep(0.5)

    browser.get(make_up["url"] + "/dags/dog_breed_pipeline")
    browser.find_element(By.XPATH, "//button[normalize-space()='Trigger']").click()
    open_section(browser, "Training")
    choose(browser, "element_training_backend", "ec2")
    open_section(browser, "EC2")
    set_text(browser, "element_ec2_batch_size", 16)  # a parameter off its default
    triggers = browser.find_elements(By.XPATH, "//button[normalize-space()='Trigger']")
    triggers[-1].click()  # the form's own button, after the page header's

    deadline = time.monotonic() + RUN_SECONDS
    while True:
        runs = api(make_up, token["value"], "dags/dog_breed_pipeline/dagRuns?order_by=-run_after&limit=1")["dag_runs"]
        if runs and runs[0]["state"] in ("success", "failed"):
            break
        assert time.monotonic() < deadline, f"the run did not end within {RUN_SECONDS} s: {runs}"
        time.sleep(5)
    run = runs[0]
    tasks = {t["task_id"]: t["state"] for t in api(
        make_up, token["value"], f"dags/dog_breed_pipeline/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]}
    assert run["state"] == "success", (tasks, run["conf"], failed_logs(make_up, token["value"], run, tasks))
    assert (run["conf"]["training_backend"], run["conf"]["ec2_batch_size"]) == ("ec2", 16)
    assert (tasks["train_on_ec2"], tasks["tune"], tasks["check_front_door"]) == ("success", "skipped", "success")

    browser.get(f"{make_up['url']}/dags/dog_breed_pipeline/runs/{run['dag_run_id']}")
    assert browser.find_element(By.XPATH, "//*[normalize-space()='success' or normalize-space()='Success']")
