#!/bin/sh
# Run once by the postgres image on a fresh volume (/docker-entrypoint-initdb.d): a login role Grafana's
# PostgreSQL data source uses, allowed to read every table the civicpulse role creates (migrations run later,
# hence default privileges) and nothing else.
set -eu
psql -v ON_ERROR_STOP=1 -v reader_password="${GRAFANA_PG_PASSWORD:?set GRAFANA_PG_PASSWORD}" \
  --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'reader_password';
GRANT CONNECT ON DATABASE civicpulse TO grafana_reader;
GRANT USAGE ON SCHEMA public TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE civicpulse IN SCHEMA public GRANT SELECT ON TABLES TO grafana_reader;
ALTER ROLE grafana_reader SET statement_timeout = '10s';  -- a heavy dashboard must not hold the database
SQL
