-- Runs once, when the postgres service starts on an empty volume (/docker-entrypoint-initdb.d), as the
-- POSTGRES_USER of docker-compose.yaml, who therefore owns these databases.
--
--   lexoffice_state    the state database: outbox, tenants, OAuth tokens, leases, rate slots. Its tables are
--                      created by `lexoffice init` (airflow-init runs it on every start; it is idempotent).
--   fieldservice_demo  the demo field-service source (invoice drafts), seeded by airflow-init
--   bank_demo          the demo bank source (accounts and transactions), seeded by airflow-init
--
-- The state database is kept apart from Airflow's metadata database on purpose: it is the only record of
-- what was sent to Lexware Office, so it must survive `airflow db reset` and be backed up on its own.
-- A volume that predates this file gets the databases from docker/lexoffice_init.py instead.
CREATE DATABASE lexoffice_state;
CREATE DATABASE fieldservice_demo;
CREATE DATABASE bank_demo;
