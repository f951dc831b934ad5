"""The deployments `vaktpost schedule` serves (and prefect.yaml declares for work pools): the nightly run and
the retention purge, on the cron schedules in ``[schedule]``.

Prefect reads its settings when it is imported: call :func:`use_api` before anything imports prefect.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import httpx

from vaktpost.settings import Settings

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

DEPLOYMENT_NAME = "vaktpost"
"""Both deployments have this name: ``nightly/vaktpost`` and ``purge/vaktpost``."""
WORK_POOL = "vaktpost"
"""The work pool prefect.yaml's deployments go to (``prefect worker start --pool vaktpost``)."""
HEALTH_TIMEOUT_S = 5.0
NO_SERVER_HINT = "set [schedule] prefect_api_url or PREFECT_API_URL; start one with `prefect server start`"


class NoPrefectServerError(Exception):
    """No Prefect API is configured, or the configured one does not answer."""


def api_url(settings: Settings) -> str | None:
    """The Prefect API to serve to: ``[schedule] prefect_api_url``, else ``$PREFECT_API_URL``."""
    url = settings.schedule.prefect_api_url or os.environ.get("PREFECT_API_URL") or None
    return url.rstrip("/") if url else None


def check_api(url: str | None, timeout_s: float = HEALTH_TIMEOUT_S) -> str:
    """Raise NoPrefectServerError unless ``<url>/health`` answers; returns the URL."""
    if not url:
        raise NoPrefectServerError(f"no Prefect server is configured: {NO_SERVER_HINT}")
    if not url.startswith(("http://", "https://")):
        raise NoPrefectServerError(f"the Prefect API URL {url!r} is not an http(s) URL: {NO_SERVER_HINT}")
    try:
        response = httpx.get(f"{url}/health", timeout=timeout_s)
    except httpx.HTTPError as err:
        raise NoPrefectServerError(
            f"no Prefect server answers at {url} ({type(err).__name__}: {err}): {NO_SERVER_HINT}"
        ) from None
    if response.status_code != 200:
        raise NoPrefectServerError(
            f"{url}/health answered HTTP {response.status_code}; is {url} a Prefect API (it ends in /api)? "
            f"{NO_SERVER_HINT}"
        )
    return url


def use_api(url: str) -> None:
    """Point this process (and the flow runs it starts) at the Prefect API; before prefect is imported."""
    os.environ["PREFECT_API_URL"] = url


def deployments(settings: Settings, config: str | None) -> list[RunnerDeployment]:
    """The nightly and purge deployments, scheduled by ``[schedule]``; runs read the settings file ``config``
    (an absolute path), so that scheduled runs use the same settings as the command that served them."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from flows.nightly import nightly
    from flows.purge import purge

    schedule = settings.schedule
    parameters = {"config": config}
    return [
        RunnerDeployment.from_flow(
            flow,
            name=DEPLOYMENT_NAME,
            schedules=[CronSchedule(cron=cron, timezone=schedule.timezone)],
            parameters=parameters,
            paused=False,  # a restarted `vaktpost schedule` resumes its schedules
            concurrency_limit=1,  # a run still going when the next is due: the next waits
            tags=["vaktpost"],
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for flow, cron in ((nightly, schedule.nightly_cron), (purge, schedule.purge_cron))
    ]
