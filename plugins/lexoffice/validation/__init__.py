"""Local validation of source documents: vectorised pandas rules with stable reason codes.

``invoices.validate_invoices`` and ``transactions.validate_transactions`` are the rules; ``reasons`` is the
catalogue of codes and messages. A plain per-row version of the same rules (``tests/support/oracles/reference_loop.py``)
is the tests' cross-check and the benchmark's baseline; it is not installed.
"""
