#!/usr/bin/env bash
# `make up`: local AWS plus `airflow standalone` with this project's DAGs and plugins, on the local profile.
# The UI is on http://127.0.0.1:8080 (login printed below); trigger dog_breed_pipeline from its form.
# Ctrl-C stops Airflow and local AWS (and the model servers and jobs it runs).
# Without DOG_BREED_SCHEDULE set, the DAG runs only when triggered, so unpaused DAGs start nothing by themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=$REPO/.venv/bin
# `airflow standalone` starts its components as `airflow ...` commands found on PATH.
export PATH=$BIN:$PATH
AWS_PORT=${LOCAL_AWS_PORT:-4566}
UI_PORT=${AIRFLOW__API__PORT:-8080}
# Where its logs and local AWS's state go (a test runs its own `make up` beside a user's).
LOGS=${DOG_BREED_UP_LOGS:-$REPO/build}

export AIRFLOW_HOME=${AIRFLOW_HOME:-$REPO/build/airflow_standalone}
# The project's Airflow settings, the local profile and its sample dataset (scripts/airflow_env.py).
eval "$("$BIN/python" "$REPO/scripts/airflow_env.py" --home "$AIRFLOW_HOME" --profile local)"
export AIRFLOW__API__PORT=$UI_PORT
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
# LocalExecutor starts this many worker processes; the pipeline runs at most two tasks at once.
export AIRFLOW__CORE__PARALLELISM=4
export DOG_BREED_SCHEDULE=${DOG_BREED_SCHEDULE:-none}
# The UI and its API on loopback only; set AIRFLOW__API__HOST=0.0.0.0 to let other machines reach them.
export AIRFLOW__API__HOST=${AIRFLOW__API__HOST:-127.0.0.1}
# The workers report to the API server's execution API, on the port it serves (its default names 8080).
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:$UI_PORT/execution/}
AWS_STATE=${DOG_BREED_UP_AWS_STATE:-$REPO/build/local_aws_up_state}
export AWS_ENDPOINT_URL=http://127.0.0.1:$AWS_PORT AWS_DEFAULT_REGION=us-east-1
# Local AWS writes its key pair there when it starts; every Airflow component signs with it.
export AWS_SHARED_CREDENTIALS_FILE=$AWS_STATE/credentials AWS_PROFILE=local
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
# Airflow's aws_default connection, as `make run` defines it (scripts/run_pipeline.py's aws_connection): the
# endpoint, the region and the profile, never the secret key.
export AIRFLOW_CONN_AWS_DEFAULT="{\"conn_type\": \"aws\", \"extra\": {\"endpoint_url\": \"$AWS_ENDPOINT_URL\", \"region_name\": \"$AWS_DEFAULT_REGION\", \"profile_name\": \"$AWS_PROFILE\"}}"
mkdir -p "$AIRFLOW_HOME" "$LOGS"
# The user the report task sets the run's note as (scripts/report_user.py): its password goes into the simple
# auth manager's own file, which keeps it, and into the airflow_api connection the tasks read.
eval "$("$BIN/python" scripts/report_user.py --passwords "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" \
    --port "$UI_PORT")"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin,$DOG_BREED_REPORT_USER

[[ -f build/sample/dogImages.zip ]] ||
    "$BIN/python" -m sample_dataset --out build/sample --zip build/sample/dogImages.zip

# Its own state dir: `make run` keeps another local AWS with its own endpoint model files.
"$BIN/python" -m local_aws --port "$AWS_PORT" --state-dir "$AWS_STATE" > "$LOGS/local_aws_up.log" 2>&1 &
AWS_PID=$!
# A session of its own: stopping its process group stops the components standalone started (killing
# standalone alone leaves the scheduler and api-server running).
setsid "$BIN/airflow" standalone > "$LOGS/airflow_standalone.log" 2>&1 &
AIRFLOW_PID=$!

stop() {
    trap - EXIT INT TERM
    kill -TERM -- -"$AIRFLOW_PID" "$AWS_PID" 2>/dev/null || true
    for _ in $(seq 30); do
        if ! kill -0 -- -"$AIRFLOW_PID" 2>/dev/null && ! kill -0 "$AWS_PID" 2>/dev/null; then
            break
        fi
        sleep 1
    done
    kill -KILL -- -"$AIRFLOW_PID" 2>/dev/null || true
    wait
}
trap stop EXIT INT TERM

PASSWORDS=$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
UI_HOST=$([[ $AIRFLOW__API__HOST == 0.0.0.0 ]] && echo 127.0.0.1 || echo "$AIRFLOW__API__HOST")
for _ in $(seq 120); do
    if [[ -s $PASSWORDS ]] && curl -sf "http://$UI_HOST:$UI_PORT/api/v2/monitor/health" > /dev/null; then
        # What an administrator makes once in an AWS account: the pipeline's SageMaker role (local AWS is up by now).
        "$BIN/python" scripts/local_account.py
        echo "Airflow UI: http://$UI_HOST:$UI_PORT   login: admin / $("$BIN/python" -c \
            'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$PASSWORDS")"
        echo "Local AWS:  $AWS_ENDPOINT_URL (keys: $AWS_SHARED_CREDENTIALS_FILE, profile local)   logs: $LOGS/airflow_standalone.log, $LOGS/local_aws_up.log"
        echo "Trigger dog_breed_pipeline from the UI (Trigger, then the form); Ctrl-C stops everything."
        wait $AIRFLOW_PID
        exit $?
    fi
    kill -0 $AIRFLOW_PID 2>/dev/null || { echo "airflow standalone exited: see $LOGS/airflow_standalone.log" >&2; exit 1; }
    kill -0 $AWS_PID 2>/dev/null || { echo "local AWS exited (port $AWS_PORT taken?): see $LOGS/local_aws_up.log" >&2; exit 1; }
    sleep 2
done
echo "Airflow did not come up within 4 minutes: see $LOGS/airflow_standalone.log" >&2
exit 1
