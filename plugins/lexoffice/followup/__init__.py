"""After ``sent``: what the accountant did with each document in Lexware Office (status, voucher number),
read back nightly (``status_sync``), shown in the report and optionally written back to the source
(``writeback``)."""
