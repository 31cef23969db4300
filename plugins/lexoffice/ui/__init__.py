"""The Lexware Office page in the Airflow UI: tenants, documents with "Datum senden", select and send.

An Airflow 3 plugin (``plugin.py``, registered through the package's ``airflow.plugins`` entry point): a
FastAPI app mounted by the api-server under ``/lexoffice`` and external views that put it in the navigation
and on a DAG run. Every route goes through Airflow's auth manager (``access.py``).
"""
