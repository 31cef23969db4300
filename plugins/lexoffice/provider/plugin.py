"""The Airflow plugin: registered through the ``airflow.plugins`` entry point in pyproject.toml, because the
plugins folder's ``lexoffice/`` is in ``.airflowignore`` (the plugin manager would import every module of the
package as a top-level module).

External views, not a React app: the page is server-rendered by the plugin's own FastAPI app, so it needs no
JavaScript build, and the api-server's JWT cookie reaches it (same origin) for Airflow's own auth checks.

Every Airflow process loads every plugin, each task process too (for macros), so this module imports nothing
heavy: the FastAPI app and Airflow's API modules are imported by the api-server on the first request only.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin


class LazyApp:
    """An ASGI app that imports the page's FastAPI app when the first request arrives (measured: importing it
    in a task process costs about 2.6 s, four times per run)."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._app is None:
            from lexoffice.ui.app import app

            self._app = app
        await self._app(scope, receive, send)

    def __repr__(self) -> str:
        return "lexoffice.ui.app:app"


class LexofficeUiPlugin(AirflowPlugin):
    name = "lexoffice"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": "/lexoffice", "name": "Lexware Office"}]
    external_views = [
        {"name": "Lexware Office", "href": "lexoffice/", "destination": "nav", "url_route": "lexoffice",
         "category": "browse"},
        {"name": "Belege dieses Laufs", "href": "lexoffice/run/{DAG_ID}/{RUN_ID}", "destination": "dag_run",
         "url_route": "lexoffice_run"},
    ]
