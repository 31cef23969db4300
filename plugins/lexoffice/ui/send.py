""""An die Buchhaltung senden": one run of the stream's DAG with ``{tenant, document_ids}``, never more.

The page never talks to Lexware itself: it creates a DAG run through Airflow (the same code path as the
trigger button), so the organisation lease and the outbox's exactly-once protocol stay the only way out.
It never unpauses the DAG; a paused DAG's run waits, and the page says so.

Double clicks and two people sending the same selection at once get the same run: the run id is derived
from the tenant and the selection plus a generation number, and Airflow's unique (dag_id, run_id) lets only
one of two concurrent creators win; the loser is answered with the winner's run. A selection sent again
after its run finished (a re-send after a fix) gets the next generation. Overlapping selections may create
two runs; the outbox (claim ``pending -> sending`` once) and the organisation lease keep Lexware free of
duplicates anyway.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from airflow.api.common.trigger_dag import trigger_dag
from airflow.exceptions import DagRunAlreadyExists
from airflow.models.dag import DagModel
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunTriggeredByType

RUN_ID_PREFIX = "lexoffice_ui__"
MAX_DOCUMENTS = 1000  # one send; the DAG's manual selection reads ids in pages, this keeps a run's conf small
_ACTIVE = (DagRunState.QUEUED, DagRunState.RUNNING)


class SendError(ValueError):
    """The selection cannot be sent; the message says why and what to do."""


@dataclass(frozen=True)
class SendResult:
    run_id: str
    created: bool  # False: an identical selection was already queued or running (double click, second user)
    paused: bool  # the DAG is paused: the run waits until someone unpauses it in Airflow


def selection(document_ids: Sequence[str]) -> list[str]:
    """The ids to send, each once, in a stable order; refuses an empty or oversized selection."""
    ids = sorted({str(i).strip() for i in document_ids if str(i).strip()})
    if not ids:
        raise SendError("Keine Belege ausgewählt ('document_ids' ist leer): bitte mindestens einen Beleg wählen.")
    if len(ids) > MAX_DOCUMENTS:
        raise SendError(f"{len(ids)} Belege ausgewählt; höchstens {MAX_DOCUMENTS} auf einmal. Bitte in "
                        "mehreren Schritten senden.")
    return ids


def _run_id_base(tenant_id: str, ids: list[str]) -> str:
    digest = hashlib.sha256(json.dumps([tenant_id, ids]).encode()).hexdigest()[:20]
    return f"{RUN_ID_PREFIX}{digest}__"


def send(*, dag_id: str, tenant_id: str, document_ids: Sequence[str], user_name: str) -> SendResult:
    """Create (or find) the run that sends ``document_ids`` of ``tenant_id``."""
    ids = selection(document_ids)
    base = _run_id_base(tenant_id, ids)
    with create_session() as session:
        dag = session.get(DagModel, dag_id)
        if dag is None:
            raise SendError(f"Der DAG {dag_id} ist in Airflow nicht bekannt (noch nicht eingelesen?); bitte den "
                            "dag-processor prüfen.")
        paused = bool(dag.is_paused)
        earlier = session.execute(
            sa.select(DagRun.run_id, DagRun.state).where(DagRun.dag_id == dag_id, DagRun.run_id.startswith(base))
        ).all()
    for run_id, state in earlier:
        if state in _ACTIVE:
            return SendResult(run_id=run_id, created=False, paused=paused)
    run_id = f"{base}{len(earlier) + 1}"
    try:
        trigger_dag(dag_id, run_id=run_id, conf={"tenant": tenant_id, "document_ids": ids},
                    triggered_by=DagRunTriggeredByType.UI, triggering_user_name=user_name)
    except (DagRunAlreadyExists, sa.exc.IntegrityError):
        return SendResult(run_id=run_id, created=False, paused=paused)  # the other click won; same selection
    return SendResult(run_id=run_id, created=True, paused=paused)


def queued_ids(dag_id: str, tenant_id: str) -> set[str]:
    """Source ids in the selection of a run of ``dag_id`` for ``tenant_id`` that has not finished yet."""
    with create_session() as session:
        confs = session.scalars(
            sa.select(DagRun.conf).where(DagRun.dag_id == dag_id, DagRun.state.in_(_ACTIVE))
        ).all()
    ids: set[str] = set()
    for conf in confs:
        if isinstance(conf, dict) and conf.get("tenant") == tenant_id:
            ids.update(str(i) for i in conf.get("document_ids") or [])
    return ids


def run_selection(dag_id: str, run_id: str) -> tuple[str | None, list[str]]:
    """(tenant, document ids) a run was asked to send; (None, []) for a run without a selection."""
    with create_session() as session:
        conf = session.scalar(sa.select(DagRun.conf).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    if not isinstance(conf, dict):
        return None, []
    return conf.get("tenant"), [str(i) for i in conf.get("document_ids") or []]
