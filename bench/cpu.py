"""Where a staging run's CPU went: its Python processes and the local PostgreSQL server.

Staging time on a small machine is bounded by the CPU it needs in all (two cores give 60 core-seconds per
30 s), and that, unlike the wall time, hardly depends on what else the machine does. Python's share comes
from ``getrusage`` in the staging worker (its threads and its reaped staging processes); PostgreSQL's from
``/proc`` for the server's main process: its own time, that of its live processes, and that of the
backends it has reaped (``cutime``/``cstime``), so connections that came and went are counted too.
"""

from __future__ import annotations

import os
import resource

import psutil
import sqlalchemy as sa


def python_cpu_seconds() -> float:
    """This process's CPU (all threads) plus that of its children it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def postmaster_pid(url: str) -> int | None:
    """The main process of the PostgreSQL server behind ``url`` if it runs on this machine, else None."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        parent = psutil.Process(int(backend)).parent()
        return parent.pid if parent is not None and "postgres" in parent.name() else None
    except (psutil.Error, sa.exc.SQLAlchemyError):
        return None
    finally:
        engine.dispose()


def server_cpu_seconds(pid: int) -> float:
    """CPU used so far by the server ``pid`` and every process it has had."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3 of proc(5)
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime (fields 14 to 17)
    live = 0.0
    for child in psutil.Process(pid).children():
        try:
            times = child.cpu_times()
            live += times.user + times.system
        except psutil.Error:  # ended meanwhile: its time moves to cutime/cstime
            continue
    return ticks / os.sysconf("SC_CLK_TCK") + live
