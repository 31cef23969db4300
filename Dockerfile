# The lexoffice-airflow image: the official Airflow 3.3.2 image (Python 3.11, the version the project's
# constraints.txt was frozen on) plus the pinned requirements and the project itself.
#
# The project is laid out in /opt/airflow exactly as in the repository (plugins/, dags/, include/, sandbox/,
# demo/, docker/), so the editable install's path entry (/opt/airflow/plugins) is also the folder that
# docker-compose mounts over it: there is only ever one copy of the `lexoffice` package on sys.path.
#
#   docker compose build          (docker-compose.yaml builds this file for every Airflow service and the sandbox)
FROM apache/airflow:3.3.2-python3.11

# 1. Dependencies first, so that editing the code does not re-run pip. apache-airflow is repeated with the
#    image's own version so pip can neither upgrade nor downgrade it; constraints.txt pins everything else.
#    `pip check` stops the build if our pins conflict with a package the image brings along (the FAB auth
#    manager, the Celery provider…), instead of leaving a broken api-server or worker to be found at runtime.
COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt \
    && pip check

# 2. The project. Only what runs in a container is copied (no tests, benchmarks or virtualenvs).
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 plugins/.airflowignore /opt/airflow/plugins/.airflowignore
COPY --chown=airflow:0 plugins/lexoffice /opt/airflow/plugins/lexoffice
COPY --chown=airflow:0 dags /opt/airflow/dags
COPY --chown=airflow:0 include /opt/airflow/include
COPY --chown=airflow:0 sandbox /opt/airflow/sandbox
COPY --chown=airflow:0 demo /opt/airflow/demo
COPY --chown=airflow:0 docker /opt/airflow/docker

# 3. The provider (connection type "lexoffice") and the `lexoffice` command. --no-deps: step 1 installed them.
#    The build fails here if Airflow does not see the provider. The check runs in a throwaway AIRFLOW_HOME so
#    that no generated airflow.cfg (with generated secrets) is left in the image.
RUN pip install --no-cache-dir --no-deps -e /opt/airflow \
    && AIRFLOW_HOME=/tmp/provider-check airflow providers get lexoffice-airflow \
    && rm -rf /tmp/provider-check

# The sandbox keeps its data here (a named volume in docker-compose.yaml). Group 0 may write, so the image
# also works with the arbitrary AIRFLOW_UID that docker-compose runs it as.
RUN mkdir -p /opt/airflow/sandbox-data && chmod 2775 /opt/airflow/sandbox-data
