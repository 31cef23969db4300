""""Zugriff erlauben" from the page: the OAuth authorisation-code flow with server-side state and PKCE.

``start`` stores a random ``state`` and a PKCE verifier in the state database (table ``oauth_pending``) and
returns Lexware's consent address with the verifier's S256 challenge. ``finish`` (the callback route) takes
the row back exactly once: an unknown, reused, expired or someone else's ``state`` is refused before any code
is exchanged, and the code is only worth something together with the verifier, which never left the server.
Tokens are stored encrypted (``state/tokens.py``) as the CLI stores them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import sqlalchemy as sa

from lexoffice.client.auth import pkce_challenge
from lexoffice.state.db import utcnow, write_transaction
from lexoffice.state.schema import oauth_pending

STATE_TTL = timedelta(minutes=10)


class OAuthStateError(ValueError):
    """The callback's ``state`` does not belong to a flow this server started for this user."""


@dataclass(frozen=True)
class Pending:
    tenant_id: str
    code_verifier: str
    redirect_uri: str


def start(engine: sa.Engine, *, tenant_id: str, user_id: str, client_id: str, authorize_url: str,
          redirect_uri: str) -> str:
    """Remember a new flow and return the consent address to send the person to."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    now = utcnow()
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(oauth_pending).where(oauth_pending.c.created_at < now - STATE_TTL))
        conn.execute(sa.insert(oauth_pending).values(state=state, tenant_id=tenant_id, user_id=user_id,
                                                     code_verifier=verifier, redirect_uri=redirect_uri,
                                                     created_at=now))
    return authorize_url + "?" + urlencode({
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "state": state,
        "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    })


def finish(engine: sa.Engine, *, state: str | None, user_id: str) -> Pending:
    """Take the flow of ``state`` back, once; refuses what this server did not start for this user."""
    if not state:
        raise OAuthStateError("Parameter 'state' fehlt: die Anmeldung wurde abgelehnt. Bitte erneut "
                              "'Zugriff erlauben' klicken.")
    with write_transaction(engine) as conn:
        row = conn.execute(sa.select(oauth_pending).where(oauth_pending.c.state == state)).first()
        if row is None:
            raise OAuthStateError("Unbekannter oder bereits benutzter 'state': die Anmeldung wurde abgelehnt. "
                                  "Bitte erneut 'Zugriff erlauben' klicken.")
        if not secrets.compare_digest(row.user_id, user_id):  # checked before the row is used up
            raise OAuthStateError("Diese Anmeldung wurde von einem anderen Benutzer begonnen und wurde abgelehnt.")
        taken = conn.execute(sa.delete(oauth_pending).where(oauth_pending.c.state == state)).rowcount
    if taken != 1:  # a concurrent callback with the same state took it first
        raise OAuthStateError("Diese Anmeldung wurde bereits abgeschlossen.")
    if row.created_at < utcnow() - STATE_TTL:
        raise OAuthStateError("Die Anmeldung hat zu lange gedauert (mehr als 10 Minuten). Bitte erneut "
                              "'Zugriff erlauben' klicken.")
    return Pending(tenant_id=row.tenant_id, code_verifier=row.code_verifier, redirect_uri=row.redirect_uri)
