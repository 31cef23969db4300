"""Who may do what on the page: Airflow's auth manager decides, through Airflow's own user dependency.

A plugin's FastAPI app is mounted into the api-server but not protected by it, so every route depends on
one of these. The user comes from Airflow's ``get_user`` (bearer token or the UI's JWT cookie: no login, no
page). The rights map onto the resources the work really touches:

* reading a stream's documents = reading the stream's DAG (its runs, its outcome);
* sending = creating a run of that DAG (``POST`` on its runs), exactly what the action does;
* administering a tenant (connect, disconnect, export-since) = editing the tenant's Lexware connection.
"""

from __future__ import annotations

from fastapi import HTTPException, status
from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import (
    ConnectionDetails,
    DagAccessEntity,
    DagDetails,
)

from lexoffice.documents import Stream

# The DAG of each stream (dags/*.py builds them with these ids).
STREAM_DAGS: dict[Stream, str] = {
    Stream.INVOICES: "lexoffice_invoice_drafts",
    Stream.TRANSACTIONS: "lexoffice_transactions",
}


def can_read(user: BaseUser, stream: Stream) -> bool:
    return get_auth_manager().is_authorized_dag(method="GET", details=DagDetails(id=STREAM_DAGS[stream]), user=user)


def can_send(user: BaseUser, stream: Stream) -> bool:
    return get_auth_manager().is_authorized_dag(
        method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=STREAM_DAGS[stream]), user=user
    )


def can_administer(user: BaseUser, conn_id: str) -> bool:
    return get_auth_manager().is_authorized_connection(
        method="PUT", details=ConnectionDetails(conn_id=conn_id), user=user
    )


def _forbidden(what: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN,
                         f"Keine Berechtigung: {what}. Bitte eine Airflow-Administratorin um diese Rechte bitten.")


def require_read(user: BaseUser, stream: Stream) -> None:
    if not can_read(user, stream):
        raise _forbidden(f"Lesen des DAGs {STREAM_DAGS[stream]}")


def require_any_read(user: BaseUser) -> list[Stream]:
    """The streams the user may read; 403 when none (the tenants view shows nothing else)."""
    streams = [s for s in Stream if can_read(user, s)]
    if not streams:
        raise _forbidden("Lesen der Lexware-Office-DAGs")
    return streams


def require_send(user: BaseUser, stream: Stream) -> None:
    if not can_send(user, stream):
        raise _forbidden(f"Starten eines Laufs des DAGs {STREAM_DAGS[stream]}")


def require_admin(user: BaseUser, conn_id: str) -> None:
    if not can_administer(user, conn_id):
        raise _forbidden(f"Bearbeiten der Verbindung {conn_id}")
