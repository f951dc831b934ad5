"""`vaktpost schedule` against a real Prefect server on loopback: it refuses without one, serves the nightly
and purge deployments on the configured crons, and a run triggered through the API completes and reports.
Also: prefect.yaml declares the same deployments."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from flows.deployments import DEPLOYMENT_NAME, WORK_POOL
from vaktpost.settings import ScheduleSettings

ROOT = Path(__file__).resolve().parent.parent
SERVER_START_S = 90.0
RUN_TIMEOUT_S = 240.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAKTPOST_", "PREFECT_"))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", **extra)
    return env


def write_config(directory: Path, api_url: str | None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "vaktpost.toml"
    schedule = f'[schedule]\nprefect_api_url = "{api_url}"\n' if api_url else ""
    config.write_text(
        f'data_dir = "{(directory / "var").as_posix()}"\n\n[analysis]\nanalyzer = "baseline"\n\n{schedule}',
        encoding="utf-8",
    )
    return config


def vaktpost_schedule(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vaktpost.cli", "schedule", "--config", str(config)],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server of this module's own: a fresh database in a temp PREFECT_HOME, a free loopback port."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = clean_env(PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false")
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with (home / "server.log").open("w", encoding="utf-8") as log:
        server = subprocess.Popen([*command, "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"prefect server exited: {(home / 'server.log').read_text(encoding='utf-8')[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no Prefect server after {SERVER_START_S:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def served(
    prefect_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`vaktpost schedule` serving to the module's server, from an operator's directory (demo: no sources)."""
    work = tmp_path_factory.mktemp("operator")
    config = write_config(work, prefect_server)
    log = work / "schedule.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vaktpost.cli", "schedule", "--config", str(config)],
            cwd=work,
            env=clean_env(PREFECT_HOME=str(work / "prefect")),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def api(url: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, f"{url}{path}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def client_query(url: str, script: str, home: Path) -> Any:
    """Run ``script`` with Prefect's own client (get_client) against the server, in a subprocess with
    PREFECT_API_URL set; it prints JSON."""
    shown = subprocess.run(
        [sys.executable, "-c", script],
        env=clean_env(PREFECT_API_URL=url, PREFECT_HOME=str(home)),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    return json.loads(shown.stdout.strip().splitlines()[-1])


def log_tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-4000:]


def test_schedule_refuses_without_a_reachable_server(tmp_path: Path) -> None:
    closed = write_config(tmp_path / "closed", f"http://127.0.0.1:{free_port()}/api")
    refused = vaktpost_schedule(closed, clean_env())
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no Prefect server answers at http://127.0.0.1:" in refused.stderr
    assert "prefect server start" in refused.stderr and "PREFECT_API_URL" in refused.stderr

    unset = write_config(tmp_path / "unset", None)
    refused = vaktpost_schedule(unset, clean_env())
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no Prefect server is configured" in refused.stderr
    assert "[schedule] prefect_api_url" in refused.stderr


def test_schedule_serves_both_deployments_and_a_run_completes(
    prefect_server: str, served: tuple[subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    process, log = served
    names = {f"nightly/{DEPLOYMENT_NAME}", f"purge/{DEPLOYMENT_NAME}"}
    deadline = time.monotonic() + 120
    found: set[str] = set()
    while found != names:
        assert process.poll() is None, f"vaktpost schedule exited {process.returncode}: {log_tail(log)}"
        assert time.monotonic() < deadline, f"deployments {names - found} never appeared: {log_tail(log)}"
        time.sleep(1)
        deployments = api(prefect_server, "POST", "/deployments/filter", {"limit": 50, "offset": 0})
        flows = {f["id"]: f["name"] for f in api(prefect_server, "POST", "/flows/filter", {"limit": 50, "offset": 0})}
        found = {f"{flows.get(d['flow_id'])}/{d['name']}" for d in deployments} & names

    script = (
        "import json\n"
        "from prefect.client.orchestration import get_client\n"
        "with get_client(sync_client=True) as client:\n"
        "    out = {}\n"
        "    for name in ('nightly', 'purge'):\n"
        f"        deployment = client.read_deployment_by_name(name + '/{DEPLOYMENT_NAME}')\n"
        "        schedules = client.read_deployment_schedules(deployment.id)\n"
        "        out[name] = {'id': str(deployment.id), 'parameters': deployment.parameters,\n"
        "                     'schedules': [[s.schedule.cron, s.schedule.timezone, s.active] for s in schedules]}\n"
        "    run = client.create_flow_run_from_deployment(out['nightly']['id'])\n"
        "    out['run'] = str(run.id)\n"
        "    print(json.dumps(out))\n"
    )
    out = client_query(prefect_server, script, tmp_path / "prefect")
    defaults = ScheduleSettings()
    assert out["nightly"]["schedules"] == [["0 2 * * *", "Europe/Stockholm", True]]
    assert out["purge"]["schedules"] == [[defaults.purge_cron, defaults.timezone, True]]
    config = str((log.parent / "vaktpost.toml").resolve())
    assert out["nightly"]["parameters"] == {"config": config}
    assert out["purge"]["parameters"] == {"config": config}

    run_id = out["run"]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        state = api(prefect_server, "GET", f"/flow_runs/{run_id}")["state"]
        if state["type"] == "COMPLETED":
            break
        assert state["type"] not in {"FAILED", "CRASHED", "CANCELLED"}, f"{state}: {log_tail(log)}"
        assert time.monotonic() < deadline, f"the run is still {state['type']}: {log_tail(log)}"
        assert process.poll() is None, f"vaktpost schedule exited {process.returncode}: {log_tail(log)}"
        time.sleep(2)

    # The run and the subflow runs it started (the report may be published in one of those).
    children = {"flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}, "limit": 50, "offset": 0}
    runs = [run_id, *(r["id"] for r in api(prefect_server, "POST", "/flow_runs/filter", children))]
    # Prefect 3.8.8's client sends null paging fields this server rejects: send the full body.
    body = {"artifacts": {"flow_run_id": {"any_": runs}}, "limit": 50, "offset": 0, "sort": "CREATED_DESC"}
    artifacts = {a["key"]: a for a in api(prefect_server, "POST", "/artifacts/filter", body)}
    assert {"nightly-report", "nightly-sources"} <= set(artifacts), f"{sorted(artifacts)}: {log_tail(log)}"
    assert artifacts["nightly-report"]["type"] == "markdown"
    assert "| flashback |" in artifacts["nightly-report"]["data"]
    assert artifacts["nightly-sources"]["type"] == "table"
    assert list((log.parent / "var" / "runs").glob("*/report.md")), "the run used the served settings file"

    process.send_signal(signal.SIGTERM)
    try:
        returncode = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"vaktpost schedule did not stop on SIGTERM: {log_tail(log)}")
    assert returncode == 0, log_tail(log)
    assert "stopped" in log_tail(log)


def test_prefect_yaml_declares_the_same_deployments(tmp_path: Path) -> None:
    declared = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    by_entrypoint = {d["entrypoint"]: d for d in declared["deployments"]}
    assert set(by_entrypoint) == {"flows/nightly.py:nightly", "flows/purge.py:purge"}
    # Resolve the entrypoints as a worker does (prefect's loader), in a process of its own: Prefect stays
    # out of this test process.
    script = (
        "import json, sys\n"
        "from prefect import Flow\n"
        "from prefect.flows import load_flow_from_entrypoint\n"
        "flows = [load_flow_from_entrypoint(e) for e in sys.argv[1:]]\n"
        "print(json.dumps([f.name if isinstance(f, Flow) else None for f in flows]))\n"
    )
    resolved = subprocess.run(
        [sys.executable, "-c", script, *by_entrypoint],
        cwd=ROOT,
        env=clean_env(PREFECT_HOME=str(tmp_path / "prefect")),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    names = json.loads(resolved.stdout.strip().splitlines()[-1])
    assert names == [entrypoint.split(":")[1] for entrypoint in by_entrypoint]
    defaults = ScheduleSettings()
    crons = {"nightly": defaults.nightly_cron, "purge": defaults.purge_cron}
    for entrypoint, deployment in by_entrypoint.items():
        name = entrypoint.split(":")[1]
        assert deployment["name"] == DEPLOYMENT_NAME
        assert deployment["work_pool"]["name"] == WORK_POOL
        assert [(s["cron"], s["timezone"]) for s in deployment["schedules"]] == [(crons[name], defaults.timezone)]
        assert "config" in deployment["parameters"]
