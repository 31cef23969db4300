"""The source schemas: portable DDL, idempotent creation, and the query files that depend on them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from demo.source_db import create_schema
from lexoffice.source import tables
from lexoffice.source.frames import DRAFTS, LINES, TRANSACTIONS
from lexoffice.source.sql import read_sql, split_statements, strip_comments


@pytest.mark.parametrize("which", ["fieldservice", "bank"])
def test_create_schema_is_idempotent_and_matches_the_write_tables(engine: sa.Engine, which: str) -> None:
    create_schema(engine, which)
    create_schema(engine, which)  # IF NOT EXISTS everywhere: a second run changes nothing
    inspector = sa.inspect(engine)
    expected = tables.FIELDSERVICE_TABLES if which == "fieldservice" else tables.BANK_TABLES
    for table in expected:
        in_db = {column["name"] for column in inspector.get_columns(table.name)}
        assert in_db == {column.name for column in table.columns}, table.name


def test_both_schemas_fit_in_one_database(engine: sa.Engine) -> None:
    create_schema(engine, "fieldservice")
    create_schema(engine, "bank")
    names = set(sa.inspect(engine).get_table_names())
    assert {"companies", "invoice_drafts", "bank_customers", "accounts", "transactions"} <= names


def test_unknown_schema_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="unknown source schema"):
        create_schema(engine, "erp")  # type: ignore[arg-type]


def _select_list(name: str) -> list[str]:
    sql = strip_comments(read_sql(name))
    select = sql[sql.index("SELECT") + len("SELECT"):sql.index("FROM")]
    items, depth, current = [], 0, ""
    for char in select:  # split on top-level commas only: COALESCE(a, b) is one item
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [re.split(r"\s+AS\s+|\.", item.strip())[-1] for item in items]


@pytest.mark.parametrize(("window", "by_ids", "spec"), [
    ("invoice_drafts_window.sql", "invoice_drafts_by_ids.sql", DRAFTS),
    ("invoice_draft_lines.sql", "invoice_draft_lines.sql", LINES),
])
def test_query_select_lists_are_the_frame_contract(window: str, by_ids: str, spec) -> None:
    assert _select_list(window) == _select_list(by_ids) == list(spec.columns)


def test_transaction_queries_and_their_accounts_query_make_the_frame_contract() -> None:
    """The page query has the transaction's own columns, the accounts query (keyed by account_id) the rest."""
    page = _select_list("transactions_window.sql")
    accounts = _select_list("transaction_accounts.sql")
    assert page == _select_list("transactions_by_ids.sql")
    assert accounts[0] == "account_id" and "account_id" in page
    assert page + accounts[1:] == list(TRANSACTIONS.columns)


def test_queries_use_bind_parameters_only() -> None:
    """No string formatting: every value enters through a named bind parameter."""
    for name in ("invoice_drafts_window.sql", "invoice_drafts_by_ids.sql", "invoice_draft_lines.sql",
                 "transactions_window.sql", "transactions_by_ids.sql", "transaction_accounts.sql"):
        sql = strip_comments(read_sql(name))
        assert "{" not in sql and "%" not in sql, name
        assert re.search(r":\w+", sql), name


def test_split_statements_ignores_comments() -> None:
    script = "-- a; comment\nCREATE TABLE a (x TEXT); -- trailing; comment\n\nCREATE INDEX i ON a (x);\n"
    assert split_statements(script) == ["CREATE TABLE a (x TEXT)", "CREATE INDEX i ON a (x)"]
