"""`make run` wall time, broken down by task: a cold run that creates the endpoint, then a run that updates it.

Stops the background local AWS an earlier `make run` left, then runs `scripts/run_pipeline.py`'s run twice
(the first starts local AWS and creates the endpoint, the second reuses it and updates the endpoint
blue/green) and prints each task's wall time per run, the totals, and the target (≤ 600 s per run).

    .venv/bin/python bench/bench_make_run.py
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 600.0


def load_run_pipeline():
    spec = importlib.util.spec_from_file_location("run_pipeline", REPO / "scripts" / "run_pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    run_pipeline = load_run_pipeline()
    run_pipeline.stop_local_aws()
    runs = [("cold: creates", run_pipeline.run_once({})), ("second: updates", run_pipeline.run_once({}))]
    run_pipeline.stop_local_aws()

    print(f"\n{'task':<22}" + "".join(f"{label:>18}" for label, _ in runs))
    order = [task["task_id"] for task in runs[0][1]["tasks"]]
    seconds = [{task["task_id"]: task["seconds"] for task in results["tasks"]} for _, results in runs]
    for task_id in order:
        cells = [per_run.get(task_id) for per_run in seconds]
        print(f"{task_id:<22}" + "".join(f"{'' if c is None else f'{c:.1f}':>18}" for c in cells))
    print(f"{'sum of tasks':<22}" + "".join(f"{sum(v for v in s.values() if v):>18.1f}" for s in seconds))
    print(f"{'make run wall time':<22}" + "".join(f"{r['wall_seconds']:>18.1f}" for _, r in runs))
    ok = all(r["state"] == "success" and r["wall_seconds"] <= TARGET_SECONDS for _, r in runs)
    changes = [(r["report"] or {}).get("endpoint") or {} for _, r in runs]
    print(f"endpoint: {'created' if not changes[0].get('replaced_model') else 'updated'}, then "
          f"{'updated' if changes[1].get('replaced_model') else 'NOT updated'}; "
          f"target <= {TARGET_SECONDS:.0f} s per run: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
