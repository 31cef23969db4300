"""Keep secrets out of text that leaves the client: exception messages and log records.

The client never formats headers or request bodies into messages, but error bodies come from the server
(and, behind a proxy or a misbehaving gateway, could echo what was sent). So every piece of server text is
scrubbed against the secrets this client knows before it becomes part of an exception or a log line.
Airflow's masker does the same for task logs; this is the layer that works without Airflow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

MASK = "***"

# Shorter values are not treated as secrets: replacing every "abc" in a message would destroy it, and a
# real API key, client secret or token is far longer.
MIN_SECRET_LENGTH = 6


class SecretRegistry:
    """A thread-safe set of secret strings, and the scrubbing of text against them.

    Rotating OAuth tokens are added as they arrive, so the set only grows for the client's lifetime.
    """

    def __init__(
        self, secrets: Iterable[str | None] = (), *, on_add: Callable[[str], None] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._on_add = on_add
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Remember ``secret``; ``on_add`` (e.g. Airflow's ``mask_secret``) hears of each new one once."""
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
        if self._on_add is not None:
            self._on_add(secret)

    def scrub(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)  # longest first: no partial leftovers
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self._secrets)} secrets)"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """One-off scrubbing of ``text`` against ``secrets``."""
    return SecretRegistry(secrets).scrub(text)


class RedactingFilter(logging.Filter):
    """A logging filter that replaces known secrets in a record's final message.

    Attach it to handlers (or to the ``lexoffice`` logger) where records from other libraries might
    carry request details; the client's own log lines never contain secrets in the first place.
    """

    def __init__(self, registry: SecretRegistry) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self._registry.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True
