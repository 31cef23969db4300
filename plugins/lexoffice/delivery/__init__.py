"""Delivery of the outbox to Lexware Office, following the protocol in docs/architecture.md.

Only the holder of the organisation lease delivers; every POST is preceded by a committed write-ahead state.
"""
