"""The Airflow wing: everything that knows Airflow (hook, operators, DAG factory, connections, provider info,
UI plugin registration). The packages below it (client, source, validation, state, delivery) do not import
Airflow, so the CLI, the tests and the demo use them without a scheduler."""
