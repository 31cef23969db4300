"""Benchmarks for lexoffice-airflow (issue #7): ``python -m bench [--scale tiny|full]``.

Delivery is ruled by Lexware's 2 requests/s per organisation, staging by the machine; the benchmark measures
both, next to simple baselines, against a real sandbox over HTTP and a real PostgreSQL, and prints one table.
Results are in docs/benchmarks.md. Speed targets live here, never in timed tests.
"""
