"""State words, "Datum senden", the health indicator's rule, and the new tables on an existing state DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lexoffice.state import health
from lexoffice.state.db import init_db, make_engine
from lexoffice.ui.texts import STATE_WORDS, UI_STATES, datum_senden, language, ui_state


@pytest.mark.parametrize("stored, queued, shown", [
    (None, False, "not_sent"), ("pending", False, "not_sent"), (None, True, "queued"), ("pending", True, "queued"),
    ("rejected", True, "queued"),  # sent again after a fix
    ("invalid", False, "failed"), ("rejected", False, "failed"), ("sending", True, "sending"),
    ("sent", True, "sent"), ("unknown", False, "awaiting"),
])
def test_ui_state(stored: str | None, queued: bool, shown: str) -> None:
    assert ui_state(stored, queued=queued) == shown


def test_every_state_has_words_in_both_languages() -> None:
    assert STATE_WORDS["de"]["sent"] == "gesendet" and STATE_WORDS["de"]["awaiting"] == "wartet auf Bestätigung"
    assert all(set(words) == set(UI_STATES) for words in STATE_WORDS.values())
    assert language(None) == "de" and language("en-GB") == "en"


def test_datum_senden_is_berlin_time_with_daylight_saving() -> None:
    assert datum_senden(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == "02.07.2026 00:30"  # CEST
    assert datum_senden(datetime(2026, 12, 31, 23, 5, tzinfo=UTC)) == "01.01.2027 00:05"  # CET
    assert datum_senden(None) == ""


def test_health_is_the_last_outcome(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    t0 = datetime(2026, 10, 1, 8, tzinfo=UTC)
    health.record_ok(engine, "a", at=t0)
    assert health.get_all(engine)["a"].healthy
    health.record_error(engine, "a", "401 Unauthorized" + "x" * 1000, at=t0 + timedelta(minutes=1))
    state = health.get_all(engine)["a"]
    assert not state.healthy and state.last_ok_at == t0 and len(state.last_error or "") == health.MAX_ERROR_CHARS
    health.record_ok(engine, "a", at=t0 + timedelta(minutes=2))
    assert health.get_all(engine)["a"].healthy


def test_init_db_adds_the_ui_tables_to_an_existing_state_db(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lexoffice.state.schema import metadata

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    old = [t for name, t in metadata.tables.items() if name not in ("connection_health", "oauth_pending")]
    metadata.create_all(engine, tables=old)
    init_db(engine)
    assert {"connection_health", "oauth_pending"} <= set(sa.inspect(engine).get_table_names())
