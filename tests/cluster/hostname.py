"""The hostname a cluster process reports (``[core] hostname_callable``): its role, as if it were a machine.

On one machine every worker would report the same name in ``task_instance.hostname``; each cluster worker
sets ``LEXOFFICE_CLUSTER_HOSTNAME`` to its own name instead, the way separate machines differ.
"""

from __future__ import annotations

import os
import socket

HOSTNAME_ENV = "LEXOFFICE_CLUSTER_HOSTNAME"


def cluster_hostname() -> str:
    return os.environ.get(HOSTNAME_ENV) or socket.getfqdn()
