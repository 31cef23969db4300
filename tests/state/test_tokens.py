"""The OAuth token store: encrypted at rest, atomic saves, and one refresh at a time across processes."""

from __future__ import annotations

import itertools
import os
import pathlib
import signal
import threading
import time

import pytest
import sqlalchemy as sa

from lexoffice.client.auth import TokenRecord, TokenStore
from lexoffice.state.schema import oauth_tokens
from lexoffice.state.tokens import DbTokenStore, RefreshLockTimeout, TokenDecryptError, TokenKeyMissing
from tests.state import workers
from tests.support.waiting import GENEROUS

REFRESH = "rt-9f8e7d6c5b4a-REFRESH-SECRET"
ACCESS = "at-0a1b2c3d4e5f-ACCESS-SECRET"


def _store(engine: sa.Engine, key: str = "unit-test-key") -> DbTokenStore:
    return DbTokenStore(engine, encryption_key=key)


def _assert_no_overlap(intervals: list[tuple[float, float]]) -> None:
    ordered = sorted(intervals)
    for (_, left), (entered, _) in itertools.pairwise(ordered):
        assert entered >= left, f"two holders at once: one left at {left}, the next entered at {entered}"


def test_round_trip_returns_the_clients_record(engine: sa.Engine) -> None:
    store = _store(engine)
    assert isinstance(store, TokenStore)
    assert store.load("lex_acme") is None
    store.save("lex_acme", TokenRecord(refresh_token=REFRESH, access_token=ACCESS, access_expires_at=1.7e9))
    loaded = store.load("lex_acme")
    assert isinstance(loaded, TokenRecord)
    assert (loaded.refresh_token, loaded.access_token, loaded.access_expires_at) == (REFRESH, ACCESS, 1.7e9)
    store.save("lex_acme", TokenRecord(refresh_token="rotated"))
    assert store.load("lex_acme") == TokenRecord(refresh_token="rotated")
    assert store.delete("lex_acme") is True
    assert store.load("lex_acme") is None and store.delete("lex_acme") is False


def test_tokens_are_not_readable_at_rest(engine: sa.Engine, db_url: str) -> None:
    _store(engine).save("lex_acme", TokenRecord(refresh_token=REFRESH, access_token=ACCESS))
    with engine.connect() as conn:
        stored = conn.execute(sa.select(oauth_tokens)).one()
        as_text = conn.execute(sa.text("SELECT * FROM oauth_tokens")).one()
    for value in (*stored, *as_text):
        assert REFRESH not in str(value) and ACCESS not in str(value)
    if db_url.startswith("sqlite"):
        path = pathlib.Path(db_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # file, -wal, -shm
        assert b"lex_acme" in raw  # the scan does see stored data …
        assert REFRESH.encode() not in raw and ACCESS.encode() not in raw  # … but never a token


def test_wrong_key_and_copied_rows_are_refused_without_leaking(engine: sa.Engine) -> None:
    _store(engine).save("lex_acme", TokenRecord(refresh_token=REFRESH, access_token=ACCESS))
    with pytest.raises(TokenDecryptError) as caught:
        _store(engine, key="another-key").load("lex_acme")
    assert "LEXOFFICE_TOKEN_KEY" in str(caught.value)
    assert REFRESH not in str(caught.value) and ACCESS not in str(caught.value)

    # A row copied under another tenant's key must not be accepted as that tenant's token.
    with engine.begin() as conn:
        ciphertext = conn.execute(sa.select(oauth_tokens.c.ciphertext)).scalar_one()
        conn.execute(sa.insert(oauth_tokens).values(key="lex_other", ciphertext=ciphertext, version=1,
                                                    updated_at=sa.func.current_timestamp()))
    with pytest.raises(TokenDecryptError, match="belongs to another key"):
        _store(engine).load("lex_other")


def test_missing_key_is_a_clear_error(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEXOFFICE_TOKEN_KEY", raising=False)
    with pytest.raises(TokenKeyMissing, match="set the environment variable LEXOFFICE_TOKEN_KEY"):
        DbTokenStore(engine)
    monkeypatch.setenv("LEXOFFICE_TOKEN_KEY", "from-the-environment")
    DbTokenStore(engine).save("k", TokenRecord(refresh_token=REFRESH))
    assert _store(engine, key="from-the-environment").load("k") == TokenRecord(refresh_token=REFRESH)


def test_no_secrets_in_reprs(engine: sa.Engine) -> None:
    store = _store(engine, key="super-secret-encryption-key")
    store.save("k", TokenRecord(refresh_token=REFRESH, access_token=ACCESS))
    text = repr(store) + repr(store.load("k")) + str(store.__dict__.get("_scope"))
    assert "super-secret-encryption-key" not in text and REFRESH not in text and ACCESS not in text


def test_empty_refresh_token_is_refused(engine: sa.Engine) -> None:
    with pytest.raises(ValueError, match="empty refresh token"):
        _store(engine).save("k", TokenRecord(refresh_token=""))


def test_saves_are_atomic_under_concurrent_writers_and_readers(engine: sa.Engine) -> None:
    store = _store(engine)
    store.save("k", TokenRecord(refresh_token="rt-0", access_token="at-0", access_expires_at=0.0))
    stop = threading.Event()
    torn: list[object] = []
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(15):
                n = worker * 100 + i
                store.save("k", TokenRecord(refresh_token=f"rt-{n}", access_token=f"at-{n}", access_expires_at=n))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def read() -> None:
        while not stop.is_set():
            record = store.load("k")
            assert record is not None
            n = record.refresh_token.removeprefix("rt-")
            if record.access_token != f"at-{n}" or record.access_expires_at != float(n):
                torn.append(record)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in (1, 2, 3)]
    for t in writers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    stop.set()
    reader.join(timeout=60)
    assert errors == [] and torn == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(oauth_tokens.c.version)).scalar_one() == 1 + 45


def test_refresh_lock_serialises_threads_and_allows_saving_inside(engine: sa.Engine) -> None:
    store = _store(engine)
    intervals: list[tuple[float, float]] = []

    def refresh(i: int) -> None:
        with store.refresh_lock("lex_acme"):
            entered = time.time()
            store.save("lex_acme", TokenRecord(refresh_token=f"rt-{i}"))  # must not deadlock on SQLite
            time.sleep(0.02)
            intervals.append((entered, time.time()))

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(intervals) == 8
    _assert_no_overlap(intervals)
    with store.refresh_lock("another-key"):  # other keys are independent
        pass


def test_refresh_lock_serialises_processes(db_url: str, engine: sa.Engine) -> None:
    results = workers.run_all(workers.hold_refresh_lock, [(db_url, "lex_acme", 5, 0.05)] * 2)
    intervals = [i for r in results for i in r]
    assert len(intervals) == 10
    _assert_no_overlap(intervals)


def test_refresh_lock_times_out_and_frees_when_its_holder_dies(db_url: str, engine: sa.Engine) -> None:
    """Another process holds the lock: we give up after our timeout; once it is killed, the lock is free
    (PostgreSQL at once, with the holder's connection; SQLite after the lease's ttl)."""
    ready = workers.CONTEXT.Event()
    holder = workers.CONTEXT.Process(target=workers.hold_refresh_lock_until_killed,
                                     args=(db_url, "lex_acme", 1.0, ready))
    holder.start()
    try:
        assert ready.wait(timeout=60)
        waiter = DbTokenStore(engine, encryption_key="k", lock_timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(RefreshLockTimeout, match="lex_acme"):
            with waiter.refresh_lock("lex_acme"):
                pytest.fail("entered a lock that another process holds")
        assert time.monotonic() - started >= 0.45
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        holder.join(timeout=30)
        # Free once the holder is gone (a lock never freed raises RefreshLockTimeout after the generous wait).
        patient = DbTokenStore(engine, encryption_key="k", lock_timeout_seconds=GENEROUS)
        with patient.refresh_lock("lex_acme"):
            pass
    finally:
        if holder.is_alive():
            holder.kill()
