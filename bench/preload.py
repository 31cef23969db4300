"""Imported once by the forkserver (``bench.processes``) so that workers start without import time."""

import lexoffice.client  # noqa: F401
import lexoffice.delivery.run  # noqa: F401
import lexoffice.staging.stage  # noqa: F401
import lexoffice.source.invoices  # noqa: F401
import lexoffice.source.transactions  # noqa: F401
import lexoffice.state.locks  # noqa: F401
import lexoffice.state.tenants  # noqa: F401
import pandas  # noqa: F401
import psycopg  # noqa: F401
import sqlalchemy  # noqa: F401

import bench.deliver_worker  # noqa: F401
import bench.stage_worker  # noqa: F401
