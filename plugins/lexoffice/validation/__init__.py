"""Local validation of source documents: vectorised pandas rules with stable reason codes.

``invoices.validate_invoices`` and ``transactions.validate_transactions`` are the production rules;
``reference_loop`` is a plain per-row version of the same rules, kept as a benchmark baseline and as a
cross-check. ``reasons`` is the catalogue of codes and messages.
"""
