"""A local stand-in for the Lexware Office API (FastAPI), with fault injection and inspection under /_admin.

It follows ``../shared/reference/lexware-api.md`` closely enough that a client written against the real API
works against it unchanged; everything the real API does not have lives under ``/_admin``. See docs/sandbox.md.
"""
