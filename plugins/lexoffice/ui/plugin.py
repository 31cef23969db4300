"""The Airflow plugin: registered through the ``airflow.plugins`` entry point in pyproject.toml, because the
plugins folder's ``lexoffice/`` is in ``.airflowignore`` (the plugin manager would import every module of the
package as a top-level module).

External views, not a React app: the page is server-rendered by the plugin's own FastAPI app, so it needs no
JavaScript build, and the api-server's JWT cookie reaches it (same origin) for Airflow's own auth checks.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


def _app():  # noqa: ANN202 - FastAPI, imported lazily by the api-server only
    from lexoffice.ui.app import app

    return app


class LexofficeUiPlugin(AirflowPlugin):
    name = "lexoffice"
    fastapi_apps = [{"app": _app(), "url_prefix": "/lexoffice", "name": "Lexware Office"}]
    external_views = [
        {"name": "Lexware Office", "href": "lexoffice/", "destination": "nav", "url_route": "lexoffice",
         "category": "browse"},
        {"name": "Belege dieses Laufs", "href": "lexoffice/run/{DAG_ID}/{RUN_ID}", "destination": "dag_run",
         "url_route": "lexoffice_run"},
    ]
