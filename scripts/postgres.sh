#!/usr/bin/env bash
# PostgreSQL for the tests (docs/delivery.md#tests-of-the-service): starts Debian's cluster
# (15/main; SONDE_PG_VERSION, SONDE_PG_CLUSTER) if it is not running, creating it if it does
# not exist, then makes a login role named after the current user and a database sonde_test
# that it owns, unless they exist; and prints the libpq connection string of that database
# (peer authentication over the Unix socket: no password). Idempotent. Run as root or with
# sudo available; scripts/deps.sh installs the packages.
#   export SONDE_TEST_POSTGRES="$(bash scripts/postgres.sh)"
set -euo pipefail
version=${SONDE_PG_VERSION:-15}
cluster=${SONDE_PG_CLUSTER:-main}
database=sonde_test
role=$(id -un)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
field() {  # field N of this cluster's line in pg_lsclusters (3: port, 4: status)
  pg_lsclusters -h | awk -v v="$version" -v c="$cluster" -v f="$1" '$1 == v && $2 == c { print $f }'
}

if [ -z "$(field 1)" ]; then
  echo "== postgres.sh: creating cluster $version/$cluster" >&2
  $sudo pg_createcluster "$version" "$cluster" >&2
fi
if [ "$(field 4)" != online ]; then
  echo "== postgres.sh: starting cluster $version/$cluster" >&2
  $sudo pg_ctlcluster "$version" "$cluster" start >&2
fi
port=$(field 3)
socket=/var/run/postgresql
for _ in $(seq 1 120); do  # up to 60 s for the server to accept connections
  pg_isready -q -h "$socket" -p "$port" -d postgres && break
  sleep 0.5
done
pg_isready -q -h "$socket" -p "$port" -d postgres || { echo "postgres.sh: the server does not answer" >&2; exit 1; }

# The role may log in and own its database; it is no superuser. Role and database names are
# quoted as identifiers (format %I) by the server itself.
as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -d postgres -v role="$role" <<'SQL' >&2
SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SQL
as_postgres psql -X -q -v ON_ERROR_STOP=1 -h "$socket" -p "$port" -d postgres -v role="$role" \
  -v db="$database" <<'SQL' >&2
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
echo "host=$socket port=$port dbname=$database"
