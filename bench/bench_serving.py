"""The serving path under load: the project's front door (lambda/, deployed by LambdaDeploymentOperator behind
alias `live`, called through its SigV4-signed function URL) before an endpoint serving the small model
(bench_hosting's MobileNetV3-small at 32 px), on one `python -m local_aws` run with LOCAL_AWS_TIME_SCALE=60 (a
metric minute lasts a second, cooldowns alike), with a bounded load generator on loopback.

1. What the front door costs, one keep-alive client per path, the paths in turn over several rounds:
     front door, URL      POST <function URL>predict with {"image": <base64 JPEG>}, signed for `lambda`
     front door, Invoke   Lambda Invoke of alias `live` with the same document (the seed's test event)
     InvokeEndpoint       boto3 straight to the endpoint through local AWS, the same JPEG
     no-op Invoke         a no-op function's warm Invoke, and the no-op called in this process
     handler, stubbed     the front door's lambda_handler in this process on the URL's event, its endpoint call
                          answered at once with the endpoint's own answer
   Measured twice: each path for seconds in turn (5 rounds), then call by call (one call of each path in turn).
   Target: front door URL p50 <= 1.1 x (InvokeEndpoint + (no-op Invoke - no-op in-process) + handler, stubbed),
   call by call. A part called back to back runs with its caches warm from its own last call, which it never has
   inside the front door: the no-op's warm Invoke and the stubbed handler cost 2-4x less back to back than in
   turn, and a block of seconds also catches whatever else the machine does meanwhile. So the back-to-back ratio
   is printed beside it, not held to the target.

2. Phases through the function URL, per setting: steady (2 clients at 5 calls a second each), a burst (clients
   back to back), quiet (1 client at 2 a second). Per phase: calls, p50/p99/max of the 200s, served per second,
   status counts, cold starts (REPORT lines with `Init Duration` in the function's log group), the endpoint's
   CurrentInstanceCount, the CPU of the load generator (this process) and of local AWS (edge, replicas,
   function environments). The settings, side by side, each on a freshly published version (no warm
   environment carried over):
     reserved 3, provisioned 3, a burst of 3   (the pipeline's concurrency; the provisioned-3 target)
     reserved 3, provisioned 3, a burst of 6   (throttles: 429 beyond 3 at once)
     reserved off, provisioned 3               (no throttle: more environments, queueing at the endpoint)
     reserved 3, provisioned 0                 (cold starts in the burst)
     reserved off, provisioned 3, autoscaling  (EndpointAutoscalingOperator 1..3 instances, target --target)
   Targets: no cold start in the burst of 3 with provisioned 3; autoscaling's DesiredInstanceCount reaches its
   maximum within AWS's alarm evaluation (3 periods) + the scale-out cooldown + one period of the burst's start,
   and its minimum within 15 periods + the scale-in cooldown + one period of the load's end, no request failing
   meanwhile (how long the replicas take to start is reported beside it); zero 5xx in every phase; 429s only
   where reserved concurrency promises them.

    .venv/bin/python bench/bench_serving.py [--seconds 15 --rounds 5 --phase-seconds 10 --target 20]
"""

import argparse
import base64
import contextlib
import importlib.util
import io
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_hosting import (  # noqa: E402
    BUCKET,
    CASES,
    REPO,
    LocalEndpoint,
    ServingPath,
    build_model_dir,
    create_sagemaker_role,
    interleaved,
    latency,
    local_aws_edge,
    path_latency,
    photo_jpeg,
    print_targets,
    processor_name,
)
from bench_lambda_invoke import NOOP_SOURCE, make_function, noop_zip  # noqa: E402
from serving_load import InstanceCounts, Phase, PhaseResult, is_5xx, is_other_failure, run_phase  # noqa: E402

sys.path.insert(0, str(REPO / "plugins"))
sys.path.insert(0, str(REPO / "tests"))
from signed_requests import signed_request  # noqa: E402

TIME_SCALE = 60  # one metric period (a minute on AWS) lasts a second
PERIOD_SECONDS = 60 / TIME_SCALE
SCALE_OUT_PERIODS, SCALE_IN_PERIODS = 3, 15  # AWS's target-tracking alarms: 3 of 3 above, 15 of 15 below
COOLDOWN_SECONDS = 30  # the pipeline's scale-in and scale-out cooldowns, compressed by TIME_SCALE
MIN_INSTANCES, MAX_INSTANCES = 1, 3
FUNCTION, ENDPOINT = "bench-front-door", "bench-serving"
COLD_START = "Init Duration"
FRONT_DOOR_TARGET = 1.1


@dataclass(frozen=True)
class Setting:
    name: str
    reserved: int | None  # None: no reservation (the account's unreserved pool)
    provisioned: int
    burst_clients: int
    autoscaling: bool = False

    def phases(self, seconds: float) -> list[Phase]:
        # Autoscaling needs time: 3 periods above target and replicas to start; 15 periods below to scale in.
        burst = 2 * seconds if self.autoscaling else seconds
        quiet = max(seconds, (SCALE_IN_PERIODS + 8) * PERIOD_SECONDS) if self.autoscaling else seconds
        return [Phase("steady", 2, seconds, rate=5.0), Phase("burst", self.burst_clients, burst),
                Phase("quiet", 1, quiet, rate=2.0)]


SETTINGS = [
    Setting("reserved 3, provisioned 3, burst of 3", 3, 3, 3),
    Setting("reserved 3, provisioned 3, burst of 6", 3, 3, 6),
    Setting("reserved off, provisioned 3, burst of 6", None, 3, 6),
    Setting("reserved 3, provisioned 0, burst of 6", 3, 0, 6),
    Setting("reserved off, provisioned 3, autoscaling, burst of 6", None, 3, 6, autoscaling=True),
]


def point_the_sdks_at(client_kwargs: dict, work: Path) -> None:
    """What a user's environment says for the pipeline's operators (boto3 and the provider's hooks)."""
    os.environ.update({
        "AWS_ENDPOINT_URL": client_kwargs["endpoint_url"], "AWS_DEFAULT_REGION": client_kwargs["region_name"],
        "AWS_ACCESS_KEY_ID": client_kwargs["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": client_kwargs["aws_secret_access_key"],
        "AIRFLOW_HOME": str(work / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    })
    os.environ.pop("AWS_PROFILE", None)


def deploy_front_door(setting: Setting, lam) -> str:
    """The pipeline's LambdaDeploymentOperator with this setting's concurrency, on a new version (the setting's
    name in its environment), so that no warm environment of another setting serves it; the function URL."""
    from dog_breed.front_door_operator import LambdaDeploymentOperator

    deployed = LambdaDeploymentOperator(
        task_id="deploy_lambda", function_name=FUNCTION, endpoint_name=ENDPOINT, aws_conn_id=None,
        reserved_concurrency=setting.reserved or 3, provisioned_concurrency=setting.provisioned,
        function_url_auth="AWS_IAM", extra_environment={"BENCH_SETTING": setting.name}, waiter_delay=1,
    ).execute(context={})
    if setting.reserved is None:
        lam.delete_function_concurrency(FunctionName=FUNCTION)
    return deployed["FunctionUrl"]


def register_autoscaling(target: float) -> None:
    from dog_breed.autoscaling_operator import EndpointAutoscalingOperator

    EndpointAutoscalingOperator(
        task_id="register_autoscaling", endpoint_name=ENDPOINT, aws_conn_id=None, min_capacity=MIN_INSTANCES,
        max_capacity=MAX_INSTANCES, target_value=target, scale_in_cooldown=COOLDOWN_SECONDS,
        scale_out_cooldown=COOLDOWN_SECONDS,
    ).execute(context={})


class FrontDoorClient:
    """Signed calls to the function URL, one keep-alive session per calling thread; answers the HTTP status."""

    def __init__(self, url: str, client_kwargs: dict, document: bytes):
        self.url, self.document, self._sessions = url + "predict", document, threading.local()
        self._keys = client_kwargs["aws_access_key_id"], client_kwargs["aws_secret_access_key"]

    def response(self) -> requests.Response:
        session = self._sessions.__dict__.setdefault("session", requests.Session())
        return signed_request("POST", self.url, "lambda", *self._keys, self.document,
                              {"Content-Type": "application/json"}, timeout=60, session=session)

    def status(self) -> str:
        return str(self.response().status_code)


def in_process_front_door(lam, endpoint_answer: bytes):
    """lambda/handler.py imported in this process with the deployed function's own environment, its endpoint
    call answered at once: ``call(event)``."""
    configuration = lam.get_function_configuration(FunctionName=FUNCTION, Qualifier="live")
    os.environ.update(configuration["Environment"]["Variables"])
    sys.path.insert(0, str(REPO / "lambda"))
    spec = importlib.util.spec_from_file_location("bench_front_door_handler", REPO / "lambda" / "handler.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)

    class AnsweredAtOnce:
        def invoke_endpoint(self, **_):
            return {"Body": io.BytesIO(endpoint_answer), "ContentType": "application/json"}

    module.runtime = AnsweredAtOnce()

    class Context:
        function_name, function_version, memory_limit_in_mb = FUNCTION, "live", configuration["MemorySize"]
        invoked_function_arn = configuration["FunctionArn"] + ":live"

        def __init__(self):
            self.aws_request_id = str(uuid.uuid4())

    def call(event: dict) -> dict:
        with contextlib.redirect_stdout(io.StringIO()):  # its EMF metrics line, which Lambda would ship
            return module.lambda_handler(event, Context())

    return call


def url_event(document: bytes) -> dict:
    """The payload 2.0 event local AWS's function URL builds for that request (its shape, not its identity)."""
    return {"version": "2.0", "routeKey": "$default", "rawPath": "/predict", "rawQueryString": "",
            "headers": {"content-type": "application/json", "host": "127.0.0.1"},
            "requestContext": {"accountId": "000000000000", "apiId": "bench", "domainName": "127.0.0.1",
                               "http": {"method": "POST", "path": "/predict", "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": "bench"},
                               "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default"},
            "body": document.decode(), "isBase64Encoded": False}


def front_door_cost(client_kwargs: dict, url: str, document: bytes, jpeg: bytes, seconds: float, rounds: int) -> dict:
    lam = boto3.client("lambda", **client_kwargs)
    runtime = boto3.client("sagemaker-runtime", **client_kwargs)
    make_function(client_kwargs, "noop", noop_zip(), "app.handler")
    namespace: dict = {}
    exec(NOOP_SOURCE, namespace)

    def invoke_endpoint() -> bytes:
        return runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=jpeg, ContentType="image/jpeg",
                                       Accept="application/json")["Body"].read()

    handler = in_process_front_door(lam, invoke_endpoint())
    event = url_event(document)
    assert handler(event)["statusCode"] == 200, handler(event)
    url_client = FrontDoorClient(url, client_kwargs, document)

    def through_url() -> None:
        response = url_client.response()
        if response.status_code != 200:
            raise RuntimeError(f"the front door answered {response.status_code}: {response.text[:300]}")

    def through_invoke() -> None:
        answer = lam.invoke(FunctionName=FUNCTION, Qualifier="live", Payload=document)
        payload = json.loads(answer["Payload"].read())
        if "FunctionError" in answer or payload.get("statusCode") != 200:
            raise RuntimeError(f"the front door's Invoke answered {payload}")

    paths = {
        "url": ServingPath(through_url, 1), "invoke": ServingPath(through_invoke, 1),
        "endpoint": ServingPath(invoke_endpoint, 1),
        "noop": ServingPath(lambda: lam.invoke(FunctionName="noop", Payload=b'{"n": 1}')["Payload"].read(), 1),
        "noop-in-process": ServingPath(lambda: namespace["handler"]({"n": 1}, None), 1),
        "handler": ServingPath(lambda: handler(event), 1),
    }
    started = time.time()
    measured = {name: latency(samples) for name, samples in interleaved(paths, seconds, rounds, path_latency).items()}
    alternated = {name: latency([samples]) for name, samples in call_by_call(paths, seconds).items()}
    wait_for_log_shipping()
    logs = boto3.client("logs", **client_kwargs)
    lines = function_log_lines(logs, started, time.time())
    return measured, alternated, {"EndpointLatency": endpoint_latencies_ms(lines), "Duration": durations_ms(lines),
                                  "no-op Duration": durations_ms(function_log_lines(logs, started, time.time(), "noop"))}


def call_by_call(paths: dict[str, ServingPath], seconds: float) -> dict[str, list[float]]:
    """One call of each path in turn for `seconds` in all: each part then runs as it runs inside the front door,
    between the other parts' work, its caches not kept warm by calls of its own just before."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, path in paths.items():
            began = time.perf_counter()
            path.call()
            samples[name].append(time.perf_counter() - began)
    return samples


def sum_of_parts(cost: dict) -> float:
    """InvokeEndpoint + the no-op's warm Invoke overhead + the handler with its endpoint call stubbed, p50s."""
    return cost["endpoint"].p50 + (cost["noop"].p50 - cost["noop-in-process"].p50) + cost["handler"].p50


def function_log_lines(logs, started: float, ended: float, function: str = FUNCTION) -> list[str]:
    """What the function's environments (the front door's by default) logged in that window (time.time() seconds)."""
    lines, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", startTime=int(started * 1000),
                                      endTime=int(ended * 1000) + 1000, **({"nextToken": token} if token else {}))
        lines += [event["message"] for event in page["events"]]
        token = page.get("nextToken")
        if not token:
            return lines


def cold_starts(lines: list[str]) -> int:
    """REPORT lines with Init Duration."""
    return sum(1 for line in lines if line.startswith("REPORT") and COLD_START in line)


def durations_ms(lines: list[str]) -> list[float]:
    """The REPORT lines' Duration: the handler's time in its environment, as Lambda bills it."""
    found = (re.search(r"\tDuration: ([0-9.]+) ms", line) for line in lines if line.startswith("REPORT"))
    return sorted(float(match.group(1)) for match in found if match)


def endpoint_latencies_ms(lines: list[str]) -> list[float]:
    """The front door's own EndpointLatency metric (its InvokeEndpoint, as the function timed it), from the
    embedded-metric-format lines Powertools prints."""
    found = []
    for line in lines:
        if '"EndpointLatency"' not in line:
            continue
        with contextlib.suppress(ValueError):
            value = json.loads(line[line.index("{"):])["EndpointLatency"]
            found += value if isinstance(value, list) else [value]
    return sorted(found)


def wait_for_log_shipping() -> None:
    """The environments ship their last REPORT lines a moment after they answer."""
    time.sleep(1.5)


def run_setting(setting: Setting, client_kwargs: dict, edge, document: bytes, phase_seconds: float,
                target: float) -> dict:
    lam = boto3.client("lambda", **client_kwargs)
    sagemaker = boto3.client("sagemaker", **client_kwargs)
    url = deploy_front_door(setting, lam)
    client = FrontDoorClient(url, client_kwargs, document)
    if setting.autoscaling:
        register_autoscaling(target)
    results: list[PhaseResult] = []
    with InstanceCounts(sagemaker, ENDPOINT) as counts:
        for phase in setting.phases(phase_seconds):
            results.append(run_phase(phase, client.status, edge))
    wait_for_log_shipping()
    logs = boto3.client("logs", **client_kwargs)
    colds = [cold_starts(function_log_lines(logs, result.started, result.ended)) for result in results]
    activities = []
    if setting.autoscaling:
        activities = boto3.client("application-autoscaling", **client_kwargs).describe_scaling_activities(
            ServiceNamespace="sagemaker", ResourceId=f"endpoint/{ENDPOINT}/variant/AllTraffic")["ScalingActivities"]
    return {"results": results, "cold": colds, "counts": counts, "activities": activities}


def report_setting(setting: Setting, measured: dict) -> None:
    print(f"\n{setting.name}")
    print(f"  {'phase':<8}{'load':<14}{'s':>6}{'calls':>7}{'200/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
          f"{'200':>6}{'429':>6}{'5xx':>5}{'other':>6}{'cold':>5}{'instances':>11}{'gen CPU':>9}{'AWS CPU':>9}")
    for result, cold in zip(measured["results"], measured["cold"]):
        statuses = result.statuses
        during = measured["counts"].during(result.started, result.ended)
        current = sorted({sample[1] for sample in during}) or ["?"]
        instances = f"{current[0]}" if len(current) == 1 else f"{current[0]}-{current[-1]}"
        print(f"  {result.phase.name:<8}{result.phase.load:<14}{result.elapsed:>6.1f}{len(result.outcomes):>7}"
              f"{result.served_per_second:>7.1f}{result.percentile(0.5) * 1e3:>8.1f}{result.percentile(0.99) * 1e3:>8.1f}"
              f"{max(result.latencies() or [float('nan')]) * 1e3:>8.1f}{statuses['200']:>6}{statuses['429']:>6}"
              f"{result.count(is_5xx):>5}{result.count(is_other_failure):>6}{cold:>5}{instances:>11}"
              f"{result.generator_cpu / result.elapsed:>8.0%} {result.local_aws_cpu / result.elapsed:>8.0%}")
        unusual = {status: n for status, n in statuses.items() if status not in ("200", "429")}
        if unusual:
            print(f"           not served: {unusual}")
    if measured["activities"]:
        origin = measured["results"][0].started
        print("  scaling activities (seconds from the steady phase's start):")
        for activity in reversed(measured["activities"]):
            start = activity["StartTime"].timestamp()
            took = activity["EndTime"].timestamp() - start if "EndTime" in activity else float("nan")
            print(f"    {start - origin:6.1f} s  {activity['Description']}  {activity['StatusCode']} "
                  f"after {took:.1f} s  ({activity['Cause']})")


def autoscaling_checks(measured: dict) -> list[tuple[str, float, str, bool]]:
    steady, burst, quiet = measured["results"]
    counts = measured["counts"]
    out_bound = (SCALE_OUT_PERIODS + 1) * PERIOD_SECONDS + COOLDOWN_SECONDS / TIME_SCALE
    in_bound = (SCALE_IN_PERIODS + 1) * PERIOD_SECONDS + COOLDOWN_SECONDS / TIME_SCALE
    decided_max = counts.first_time(burst.started, lambda current, desired: desired == MAX_INSTANCES)
    serving_max = counts.first_time(burst.started, lambda current, desired: current == MAX_INSTANCES)
    decided_min = counts.first_time(quiet.started, lambda current, desired: desired == MIN_INSTANCES)
    serving_min = counts.first_time(quiet.started, lambda current, desired: current == MIN_INSTANCES)
    never = float("inf")
    out_time = decided_max - burst.started if decided_max else never
    in_time = decided_min - quiet.started if decided_min else never
    print(f"  DesiredInstanceCount {MAX_INSTANCES} after {out_time:.1f} s of the burst (bound {out_bound:.1f} s); "
          f"CurrentInstanceCount followed {serving_max - decided_max if serving_max and decided_max else never:.1f} s "
          f"later (the replicas' start-up)")
    print(f"  DesiredInstanceCount {MIN_INSTANCES} after {in_time:.1f} s of quiet (bound {in_bound:.1f} s); "
          f"CurrentInstanceCount followed {serving_min - decided_min if serving_min and decided_min else never:.1f} s "
          f"later (draining)")
    failed = sum(result.count(lambda status: status != "200") for result in (steady, burst, quiet))
    return [
        ("autoscaling: seconds from the burst to the maximum desired", out_time, f"<= {out_bound:.1f}",
         out_time <= out_bound),
        ("autoscaling: seconds from the load's end to the minimum desired", in_time, f"<= {in_bound:.1f}",
         in_time <= in_bound),
        ("autoscaling: requests not served while replicas came and went", failed, "== 0", failed == 0),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per path of part 1, over all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--phase-seconds", type=float, default=10.0, help="steady, burst and quiet, each")
    parser.add_argument("--target", type=float, default=20.0,
                        help="autoscaling's invocations per instance per (compressed) minute; the pipeline's 100 "
                             "would be 100 calls a second per instance at this time scale")
    parser.add_argument("--settings", default="all",
                        help=f"comma-separated indexes into {[s.name for s in SETTINGS]}, all, or none (part 1 only)")
    args = parser.parse_args()
    named = {"all": SETTINGS, "none": []}
    chosen = named[args.settings] if args.settings in named else [SETTINGS[int(i)] for i in args.settings.split(",")]
    case = CASES["small"]
    print(f"{os.cpu_count()} cores ({processor_name()}), load average {os.getloadavg()[0]:.1f} at start; "
          f"LOCAL_AWS_TIME_SCALE={TIME_SCALE}")
    checks = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-serving-")))
        aws, edge = stack.enter_context(local_aws_edge(work / "state",
                                                       environment={"LOCAL_AWS_TIME_SCALE": str(TIME_SCALE)}))
        point_the_sdks_at(aws, work)
        boto3.client("s3", **aws).create_bucket(Bucket=BUCKET)
        create_sagemaker_role(aws)
        jpeg = photo_jpeg(case.photo_size)
        document = json.dumps({"image": base64.b64encode(jpeg).decode()}).encode()
        endpoint = LocalEndpoint(aws, build_model_dir(case, work / "model"), ENDPOINT, case.model_environment)
        endpoint.deploy(instances=1)

        url = deploy_front_door(SETTINGS[0], boto3.client("lambda", **aws))
        first = FrontDoorClient(url, aws, document).response()
        assert first.status_code == 200 and first.json()["predictions"], first.text
        cost, alternated, inside = front_door_cost(aws, url, document, jpeg, args.seconds, args.rounds)
        names = {"url": "front door, function URL", "invoke": "front door, Invoke alias live",
                 "endpoint": "InvokeEndpoint", "noop": "no-op function, warm Invoke",
                 "noop-in-process": "no-op handler, in-process", "handler": "front door handler, endpoint stubbed"}
        print(f"\nthe front door's cost ({args.rounds} rounds, {args.seconds:.0f} s per path in all), small model:")
        print(f"  {'path':<40}{'p50 ms':>10}{'p99 ms':>10}{'n':>9}")
        for key, name in names.items():
            print(f"  {name:<40}{cost[key].p50 * 1e3:>10.3f}{cost[key].p99 * 1e3:>10.3f}{cost[key].count:>9}")
        parts = sum_of_parts(cost)
        ratio = cost["url"].p50 / parts
        # Where the front door's time goes, from its own logs: the endpoint call as it timed it, and the handler's
        # whole Duration in its environment; the rest is the two hops to and from the environment.
        for metric, meaning in (("EndpointLatency", "its InvokeEndpoint, timed by the function"),
                                ("Duration", "the handler in its environment, REPORT lines"),
                                ("no-op Duration", "the no-op in its environment, REPORT lines")):
            values = inside[metric]
            if values:
                print(f"  {meaning:<58} p50 {statistics.median(values):.3f} ms, p99 "
                      f"{values[min(len(values) - 1, int(len(values) * 0.99))]:.3f} ms ({len(values)})")
        p50 = {metric: statistics.median(values) / 1e3 for metric, values in inside.items() if values}
        if len(p50) == 3:
            # url - parts, split three ways (p50s, so only roughly additive): the endpoint call made from inside the
            # environment, the handler's own work there, and local AWS's work around the invocation.
            endpoint_extra = p50["EndpointLatency"] - cost["endpoint"].p50
            handler_extra = p50["Duration"] - p50["EndpointLatency"] - p50["no-op Duration"] - cost["handler"].p50
            around_extra = (cost["url"].p50 - p50["Duration"]) - (cost["noop"].p50 - p50["no-op Duration"])
            print(f"  beyond the parts: {(cost['url'].p50 - parts) * 1e3:.2f} ms = the endpoint call from inside the "
                  f"function {endpoint_extra * 1e3:+.2f} ms, the handler in its environment beyond in-process "
                  f"{handler_extra * 1e3:+.2f} ms, local AWS around the invocation beyond the no-op's "
                  f"{around_extra * 1e3:+.2f} ms")
        print(f"  sum of the parts {parts * 1e3:.2f} ms; front door URL / parts = {ratio:.3f}; "
              f"Invoke / parts = {cost['invoke'].p50 / parts:.3f}")
        print(f"\n  the same paths call by call, one of each in turn ({args.seconds:.0f} s in all):")
        for key, name in names.items():
            print(f"  {name:<40}{alternated[key].p50 * 1e3:>10.3f}{alternated[key].p99 * 1e3:>10.3f}"
                  f"{alternated[key].count:>9}")
        alternated_parts = sum_of_parts(alternated)
        alternated_ratio = alternated["url"].p50 / alternated_parts
        print(f"  sum of the parts {alternated_parts * 1e3:.2f} ms; front door URL / parts = {alternated_ratio:.3f}")
        checks.append(("front door URL p50 / (InvokeEndpoint + no-op Invoke overhead + handler stubbed), call by "
                       f"call (back to back: {ratio:.3f}, not a target)", alternated_ratio, f"<= {FRONT_DOOR_TARGET}",
                       alternated_ratio <= FRONT_DOOR_TARGET))

        for setting in chosen:
            measured = run_setting(setting, aws, edge, document, args.phase_seconds, args.target)
            report_setting(setting, measured)
            results = measured["results"]
            fives = sum(result.count(is_5xx) for result in results)
            others = sum(result.count(is_other_failure) for result in results)
            throttled = sum(result.statuses["429"] for result in results)
            checks.append((f"{setting.name}: 5xx in any phase", fives, "== 0", fives == 0))
            checks.append((f"{setting.name}: other failures (4xx but 429, no answer)", others, "== 0", others == 0))
            if setting.reserved is None or setting.burst_clients <= setting.reserved:
                checks.append((f"{setting.name}: 429s where no reservation is exceeded", throttled, "== 0",
                               throttled == 0))
            if setting.provisioned >= setting.burst_clients:
                burst_colds = measured["cold"][1]
                checks.append((f"{setting.name}: cold starts in the burst", burst_colds, "== 0", burst_colds == 0))
            if setting.autoscaling:
                checks += autoscaling_checks(measured)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    print_targets(checks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
