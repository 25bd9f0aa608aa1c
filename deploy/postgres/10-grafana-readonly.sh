#!/bin/sh
# First start of the postgres container only (docker-entrypoint-initdb.d): Grafana's login role.
# It reads the curated views in schema "grafana" (migration 0006: no secrets, stream keys
# redacted) through the NOLOGIN role castwatch_grafana, and no table of schema public. Its
# search_path is "grafana", so the dashboards' SQL (FROM channels, alerts…) reads the views.
set -eu
: "${GRAFANA_DB_USER:?}" "${GRAFANA_DB_PASSWORD:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v ro_user="$GRAFANA_DB_USER" -v ro_password="$GRAFANA_DB_PASSWORD" <<'SQL'
CREATE ROLE castwatch_grafana NOLOGIN;
CREATE ROLE :"ro_user" LOGIN PASSWORD :'ro_password' IN ROLE castwatch_grafana;
ALTER ROLE :"ro_user" SET search_path = grafana;
GRANT CONNECT ON DATABASE castwatch TO :"ro_user";
SQL
