#!/bin/sh
# First start of the postgres container only (docker-entrypoint-initdb.d): a read-only role for
# Grafana's PostgreSQL data source, with SELECT on every table castwatch's migrations create.
set -eu
: "${GRAFANA_DB_USER:?}" "${GRAFANA_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v ro_user="$GRAFANA_DB_USER" -v ro_password="$GRAFANA_DB_PASSWORD" <<'SQL'
CREATE ROLE :"ro_user" LOGIN PASSWORD :'ro_password';
GRANT CONNECT ON DATABASE castwatch TO :"ro_user";
GRANT USAGE ON SCHEMA public TO :"ro_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"ro_user";
ALTER DEFAULT PRIVILEGES FOR ROLE castwatch IN SCHEMA public GRANT SELECT ON TABLES TO :"ro_user";
SQL
