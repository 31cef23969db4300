"""Prepare everything the DAGs need before Airflow starts (docker-compose's airflow-init). Idempotent.

It reads the same Airflow connections as the DAGs (``lexoffice_state``, ``lexoffice_fieldservice``,
``lexoffice_bank`` and one ``lexoffice`` connection per tenant), so the init and the DAGs cannot disagree
about where a database or the Lexware API is. Steps:

1. the state database exists and its schema is current (``lexoffice init`` = ``lexoffice db upgrade``:
   creates the tables, or applies the pending migrations);
2. with ``LEXOFFICE_DEMO=true``: the demo source databases are seeded once (``python -m demo``, only into
   databases without any table, so real data is never touched), each demo tenant's organisation exists in
   the sandbox, and the demo tenants are added and connected (a tenant is connected only the first time:
   a later restart must not undo a `lexoffice tenant disconnect`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

PROJECT_DIR = Path(__file__).resolve().parents[1]  # /opt/airflow in the image: sandbox/, demo/, plugins/
# The demo data starts here (as in scripts/run_demo.py), and so does the demo tenants' export-since.
DEMO_START = "2026-10-01"
DEMO_SEED = "42"
DEMO_SCALE = "small"


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    name: str
    organization_id: str  # the sandbox organisation the tenant's API key belongs to
    invoice_company_id: str  # companies.id in the demo field-service database
    bank_company_id: str  # bank_customers.id in the demo bank database

    @property
    def conn_id(self) -> str:
        return f"lexoffice_{self.tenant_id}"


DEMO_TENANTS = (
    DemoTenant("nordschutz", "Nordschutz Schädlingsbekämpfung GmbH", "0b6a4f7e-6a55-4e8e-9c33-2f3c1d1e0001",
               "C001", "B001"),
    DemoTenant("rheinpflege", "Rheinpflege Facility GmbH & Co. KG", "0b6a4f7e-6a55-4e8e-9c33-2f3c1d1e0002",
               "C002", "B002"),
)


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def connection(conn_id: str) -> Any:
    from airflow.sdk import Connection

    return Connection.get(conn_id)


def database_url(conn_id: str) -> str:
    from lexoffice.provider.connections import sqlalchemy_url

    return sqlalchemy_url(connection(conn_id))


def ensure_database(url: str) -> None:
    """Create a missing PostgreSQL database (a volume made before docker/postgres/init-databases.sql).

    Only asks when it can reach the server's ``postgres`` database; a managed server that refuses that is left
    alone, and the next step then names the missing database itself.
    """
    target = sa.make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        return
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first()
            if exists is None:
                quoted = conn.dialect.identifier_preparer.quote_identifier(target.database)
                conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
                say(f"created database {target.database}")
    except sa.exc.OperationalError as err:
        say(f"could not check database {target.database} ({type(err).__name__}); assuming it exists")
    finally:
        admin.dispose()


def has_tables(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return bool(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def lexoffice(*argv: str) -> None:
    """Run a `lexoffice` command (the one people use), in this process."""
    from lexoffice.cli import main

    code = main(list(argv))
    if code != 0:
        raise SystemExit(f"`lexoffice {' '.join(argv)}` failed with exit code {code}")


def seed_demo_sources(fieldservice_url: str, bank_url: str) -> None:
    if has_tables(fieldservice_url) or has_tables(bank_url):
        say("demo source data: the source databases already have tables; not seeding them")
        return
    say(f"demo source data: seeding (seed {DEMO_SEED}, scale {DEMO_SCALE}, from {DEMO_START})")
    # `python -m demo`, in this process: the database URLs (with passwords) stay out of process listings and
    # out of a CalledProcessError's message.
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    from demo.__main__ import main as demo_main

    demo_main(["--fieldservice-url", fieldservice_url, "--bank-url", bank_url, "--seed", DEMO_SEED,
               "--scale", DEMO_SCALE, "--start", DEMO_START])


def register_sandbox_organisation(tenant: DemoTenant) -> None:
    """The sandbox must know the organisation and API key of the tenant's connection before it connects."""
    from lexoffice.provider.hooks import api_base_url

    conn = connection(tenant.conn_id)
    base = api_base_url(conn.host, conn.port)
    known = requests.get(f"{base}/_admin/stats", timeout=10)
    known.raise_for_status()
    if tenant.organization_id in known.json().get("organizations", {}):
        return
    created = requests.post(f"{base}/_admin/organizations", timeout=10, json={
        "organization_id": tenant.organization_id, "company_name": tenant.name, "api_key": conn.password,
    })
    created.raise_for_status()
    say(f"sandbox: organisation {tenant.name!r} registered at {base}")


def add_demo_tenant(tenant: DemoTenant) -> None:
    """Add and connect a demo tenant that is not there yet; leave an existing one exactly as a person left it."""
    from lexoffice.provider.connections import state_engine
    from lexoffice.state.tenants import TenantNotFound, get_tenant

    try:
        existing = get_tenant(state_engine(), tenant.tenant_id)
    except TenantNotFound:
        lexoffice("tenant", "add", tenant.tenant_id, "--name", tenant.name, "--conn-id", tenant.conn_id,
                  "--invoice-company", tenant.invoice_company_id, "--bank-company", tenant.bank_company_id)
        existing = get_tenant(state_engine(), tenant.tenant_id)
    if existing.organization_id is None:
        lexoffice("tenant", "connect", tenant.tenant_id, "--export-since", DEMO_START)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction,
                        default=_truthy(os.environ.get("LEXOFFICE_DEMO", "true")),
                        help="seed the demo sources and add the demo tenants (default: env LEXOFFICE_DEMO)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from lexoffice.provider.connections import BANK_CONN_ID, FIELDSERVICE_CONN_ID, STATE_CONN_ID

    args = build_parser().parse_args(argv)
    say("state database")
    ensure_database(database_url(STATE_CONN_ID))
    lexoffice("init")
    if args.demo:
        fieldservice_url, bank_url = database_url(FIELDSERVICE_CONN_ID), database_url(BANK_CONN_ID)
        for url in (fieldservice_url, bank_url):
            ensure_database(url)
        seed_demo_sources(fieldservice_url, bank_url)
        for tenant in DEMO_TENANTS:
            register_sandbox_organisation(tenant)
            add_demo_tenant(tenant)
    else:
        say("LEXOFFICE_DEMO is off: no demo data, no demo tenants (add yours with `lexoffice tenant add`)")
    lexoffice("tenant", "list")
    say("ready. Unpause the DAGs to run them nightly: airflow dags unpause lexoffice_invoice_drafts "
        "(and lexoffice_transactions); see docs/operations.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
