"""Reading the source databases: schemas, windowed and selected extraction in chunks.

The SQL lives in ``include/sql/`` (the contract with the source systems); this package runs it, pages
through the results and turns each page into ``StagedDocument`` objects via validation and payloads.
"""
