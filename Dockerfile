# Airflow 3 with this provider installed, so that every component (the triggerer included) can import its
# operators, sensors and triggers; the same image runs the local Redshift stack in docker-compose.yaml.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION
COPY --chown=airflow:root setup.cfg pyproject.toml README.md /opt/airflow/provider/
COPY --chown=airflow:root airflow_redshift_s3 /opt/airflow/provider/airflow_redshift_s3
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" "/opt/airflow/provider[local]"
