"""The OAuth token store of the client (``lexoffice.client.auth.TokenStore``), encrypted at rest.

Lexware rotates refresh tokens: a refresh returns a new one and the old one dies. Losing the new token, or
two workers refreshing with the same old token, disconnects the tenant. So saving is one atomic statement,
and refreshes are serialised per key across threads (a lock) and processes (the database).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from lexoffice.client.auth import TokenRecord
from lexoffice.state.db import dialect_insert, is_postgres, read_transaction, utcnow, write_transaction
from lexoffice.state.locks import Lease
from lexoffice.state.schema import oauth_tokens

KEY_ENV = "LEXOFFICE_TOKEN_KEY"


class TokenStoreUnusable(RuntimeError):
    """The tenant's stored OAuth token cannot be used (no key, or a different key). Delivery blocks that tenant
    with this message instead of crashing its task: Airflow's retries would not bring the key back, and the
    other tenants carry on."""


class TokenKeyMissing(TokenStoreUnusable):
    """No encryption key configured for the token store."""


class TokenDecryptError(TokenStoreUnusable):
    """A stored token cannot be decrypted (different key) or belongs to another key."""


class RefreshLockTimeout(TimeoutError):
    """Another worker held the refresh lock for longer than we were willing to wait."""


def fernet_from_secret(secret: str) -> Fernet:
    """A Fernet key from any configured string (SHA-256, url-safe base64), as the configuration allows."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest()))


# Threads of one process queue on a lock before touching the database lock; one lock per (database, key).
_thread_locks: dict[tuple[str, str], threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(scope: str, key: str) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault((scope, key), threading.Lock())


def _advisory_lock_id(key: str) -> int:
    digest = hashlib.sha256(f"lexoffice-oauth-refresh:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class DbTokenStore:
    """Encrypted OAuth token store with a cross-process refresh lock.

    The key comes from ``encryption_key`` or the environment variable LEXOFFICE_TOKEN_KEY. The whole record
    (refresh token, access token, expiry, and the store key it belongs to) is one Fernet token, so nothing
    is readable at rest and a row copied under another key is refused. The refresh lock is
    ``pg_advisory_xact_lock`` on PostgreSQL (released the moment its holder's connection dies) and a lease
    row on SQLite (taken over after ``refresh_lock_ttl`` if its holder died).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        encryption_key: str | None = None,
        lock_timeout_seconds: float = 120.0,
        refresh_lock_ttl: float = 60.0,
    ) -> None:
        secret = encryption_key if encryption_key is not None else os.environ.get(KEY_ENV)
        if not secret:
            raise TokenKeyMissing(
                f"no encryption key for the OAuth token store: set the environment variable {KEY_ENV} "
                f"(any long random string, the same on every worker) or pass encryption_key"
            )
        self._fernet = fernet_from_secret(secret)
        self._engine = engine
        self._lock_timeout = lock_timeout_seconds
        self._lock_ttl = refresh_lock_ttl
        self._scope = engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"DbTokenStore({self._scope})"

    def _encrypt(self, key: str, record: TokenRecord) -> str:
        plain = json.dumps(
            {
                "key": key,
                "refresh_token": record.refresh_token,
                "access_token": record.access_token,
                "access_expires_at": record.access_expires_at,
            }
        )
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def _decrypt(self, key: str, ciphertext: str) -> TokenRecord:
        try:
            data = json.loads(self._fernet.decrypt(ciphertext.encode("ascii")))
        except InvalidToken:
            raise TokenDecryptError(
                f"the stored OAuth token for {key!r} cannot be decrypted: {KEY_ENV} differs from the key it "
                f"was saved with. Restore the previous key, or reconnect the tenant to store a new token."
            ) from None
        if data.get("key") != key:
            raise TokenDecryptError(f"the stored OAuth token under {key!r} belongs to another key; reconnect")
        return TokenRecord(
            refresh_token=data["refresh_token"],
            access_token=data["access_token"],
            access_expires_at=data["access_expires_at"],
        )

    def load(self, key: str) -> TokenRecord | None:
        """The stored TokenRecord for ``key``, or None if there is none."""
        with read_transaction(self._engine) as conn:
            ciphertext = conn.execute(
                sa.select(oauth_tokens.c.ciphertext).where(oauth_tokens.c.key == key)
            ).scalar_one_or_none()
        return None if ciphertext is None else self._decrypt(key, ciphertext)

    def save(self, key: str, record: TokenRecord) -> None:
        """Store the record in one atomic upsert: readers see the old record or the new one, never a mix."""
        if not record.refresh_token:
            raise ValueError(f"refusing to store an empty refresh token for {key!r}")
        ciphertext = self._encrypt(key, record)
        now = utcnow()
        with write_transaction(self._engine) as conn:
            statement = dialect_insert(conn, oauth_tokens).values(
                key=key, ciphertext=ciphertext, version=1, updated_at=now
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["key"],
                    set_={"ciphertext": ciphertext, "version": oauth_tokens.c.version + 1, "updated_at": now},
                )
            )

    def delete(self, key: str) -> bool:
        """Forget the token (tenant disconnected). True if there was one."""
        with write_transaction(self._engine) as conn:
            return conn.execute(sa.delete(oauth_tokens).where(oauth_tokens.c.key == key)).rowcount == 1

    @contextmanager
    def refresh_lock(self, key: str) -> Iterator[None]:
        """Serialise token refreshes for ``key`` across threads and processes.

        Inside, load the record again before refreshing: another holder may have refreshed already.
        """
        local = _thread_lock(self._scope, key)
        if not local.acquire(timeout=self._lock_timeout):
            raise RefreshLockTimeout(f"waited {self._lock_timeout:.0f} s for the token refresh lock of {key!r}")
        try:
            if is_postgres(self._engine):
                with self._postgres_lock(key):
                    yield
            else:
                with self._lease_lock(key):
                    yield
        finally:
            local.release()

    @contextmanager
    def _postgres_lock(self, key: str) -> Iterator[None]:
        with self._engine.connect() as conn, conn.begin():
            conn.execute(
                sa.select(sa.func.set_config("lock_timeout", f"{int(self._lock_timeout * 1000)}ms", True))
            )
            try:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_advisory_lock_id(key))))
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                    raise RefreshLockTimeout(
                        f"waited {self._lock_timeout:.0f} s for the token refresh lock of {key!r}"
                    ) from None
                raise
            yield  # the lock is released when this transaction ends, or when its connection dies

    @contextmanager
    def _lease_lock(self, key: str) -> Iterator[None]:
        lease = Lease(
            self._engine,
            name=f"oauth-refresh:{key}",
            holder=f"pid {os.getpid()} {uuid.uuid4().hex[:8]}",
            ttl_seconds=self._lock_ttl,
            poll_seconds=0.02,
        )
        started = time.monotonic()
        if not lease.acquire(wait_seconds=self._lock_timeout):
            raise RefreshLockTimeout(
                f"waited {time.monotonic() - started:.0f} s for the token refresh lock of {key!r}"
            )
        try:
            yield
        finally:
            lease.release()
