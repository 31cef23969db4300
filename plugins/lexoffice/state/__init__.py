"""The state database: outbox, tenants, tokens, leases and rate slots (SQLAlchemy Core; SQLite and PostgreSQL).

See docs/state.md. The outbox is the only truth about what was sent to Lexware Office.
"""

from lexoffice.state.db import init_db, make_engine

__all__ = ["init_db", "make_engine"]
