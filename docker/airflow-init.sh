#!/usr/bin/env bash
# airflow-init (docker-compose.yaml): runs once per `docker compose up`, as root, and is idempotent.
#
#   1. the shared folders exist and belong to AIRFLOW_UID (as in the official Airflow compose file);
#   2. a default airflow.cfg exists in ./config;
#   3. the image's entrypoint migrates the metadata database and creates the admin user
#      (_AIRFLOW_DB_MIGRATE, _AIRFLOW_WWW_USER_CREATE), then runs docker/lexoffice_init.py, which prepares
#      everything the DAGs need: the state database and its tables, and, with LEXOFFICE_DEMO=true, the demo
#      source data, the sandbox organisations and the demo tenants.
set -euo pipefail

if [[ -z "${AIRFLOW_UID:-}" || "${AIRFLOW_UID}" == "50000" ]]; then
  echo "NOTE: AIRFLOW_UID is ${AIRFLOW_UID:-unset}. On Linux set AIRFLOW_UID=\$(id -u) in .env, or the files" \
       "Airflow writes into ./logs and ./config belong to uid 50000 on the host."
fi

echo "==> shared folders"
mkdir -p /opt/airflow/{logs,dags,plugins,config,include}

echo "==> default configuration (./config/airflow.cfg) if missing"
# Without the _AIRFLOW_* switches: the migration and the admin user come once, in the last step.
env -u _AIRFLOW_DB_MIGRATE -u _AIRFLOW_WWW_USER_CREATE /entrypoint airflow config list >/dev/null

echo "==> owner of the shared folders: ${AIRFLOW_UID:-50000}:0"
chown -R "${AIRFLOW_UID:-50000}:0" /opt/airflow/{logs,dags,plugins,config,include}

echo "==> metadata database, admin user, then the lexoffice state database, tenants and demo data"
exec /entrypoint python /opt/airflow/docker/lexoffice_init.py
