#!/bin/sh
# docker-compose's PostgreSQL, on its first start: the two roles of the tracker (README, "Database
# roles"). care_owner owns the database and runs the migrations; care_app, which the web, worker
# and beat connect as, gets its rights from the owner after each migration and owns nothing.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE care_owner LOGIN PASSWORD '${CARE_OWNER_PASSWORD}';
CREATE ROLE care_app LOGIN PASSWORD '${CARE_APP_PASSWORD}';
ALTER DATABASE "$POSTGRES_DB" OWNER TO care_owner;
ALTER SCHEMA public OWNER TO care_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
