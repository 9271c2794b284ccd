# Airflow 3 with this provider installed, so that every component (the triggerer included) can import its
# operators, sensors and triggers; the same image runs the local Redshift stack in docker-compose.yaml.
# Installed with the project's constraints.txt (every version pinned, as Airflow recommends), the same
# file `make venv` and CI install from.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION
COPY --chown=airflow:root constraints.txt setup.cfg pyproject.toml README.md /opt/airflow/provider/
COPY --chown=airflow:root airflow_redshift_s3 /opt/airflow/provider/airflow_redshift_s3
RUN pip install --no-cache-dir --constraint /opt/airflow/provider/constraints.txt \
        "apache-airflow==${AIRFLOW_VERSION}" "/opt/airflow/provider[local]"
# Mount points of docker-compose.yaml's named volumes: a new volume takes this owner and mode, so the
# components (user ${AIRFLOW_UID}:0) can write there.
USER root
RUN mkdir -p /opt/airflow/secrets /opt/airflow/local-redshift /opt/airflow/local-redshift-tls \
    && chown airflow:root /opt/airflow/secrets /opt/airflow/local-redshift /opt/airflow/local-redshift-tls \
    && chmod 0770 /opt/airflow/secrets /opt/airflow/local-redshift /opt/airflow/local-redshift-tls
USER airflow
