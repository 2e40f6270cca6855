#!/usr/bin/env bash
# make run (after the build): starts the private PostgreSQL cluster in ./var/pg,
# creates database `frontdesk` if missing, applies migrations, loads the demo
# data (idempotent), prints how to connect a desk, then runs `frontdeskd serve`
# in the foreground. Ctrl-C stops the server (it handles SIGINT itself); the
# cluster is stopped when the server returns, and reused by the next run.
#
# Env: BUILD                    build folder (default build/release), holding
#                               bin/frontdeskd and bin/desk
#      FRONTDESK_LISTEN         RPC listen URL   (default tcp://127.0.0.1:7400)
#      FRONTDESK_EVENTS_LISTEN  events PUB URL   (default tcp://127.0.0.1:7401)
#      FRONTDESK_DEMO_PASSWORD  demo users' password (read by seed-demo)
set -euo pipefail

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd -- "$root"

BUILD=${BUILD:-build/release}
[[ $BUILD == /* ]] || BUILD=$root/$BUILD
frontdeskd=$BUILD/bin/frontdeskd
desk=$BUILD/bin/desk
pgcluster=$root/server/scripts/pgcluster.sh
pgdir=$root/var/pg
psql=/usr/lib/postgresql/15/bin/psql

for bin in "$frontdeskd" "$desk"; do
	[[ -x $bin ]] || {
		echo "run-demo: $bin not found; build first (make run does)" >&2
		exit 1
	}
done

# Quotes a value for a libpq conninfo string.
conninfo_quote() {
	local v=${1//\\/\\\\}
	printf "'%s'" "${v//\'/\\\'}"
}

# shellcheck disable=SC2317 # called from the EXIT trap
stop_cluster() {
	echo "run-demo: stopping PostgreSQL"
	"$pgcluster" stop "$pgdir" || true
}

# Ctrl-C before the server runs: stop here (the EXIT trap stops the cluster).
trap 'exit 130' INT TERM

"$pgcluster" start "$pgdir"
trap stop_cluster EXIT
eval "$("$pgcluster" env "$pgdir")"

if [[ -z $("$psql" -X -q -At -v ON_ERROR_STOP=1 -d postgres \
	-c "SELECT 1 FROM pg_database WHERE datname = 'frontdesk'") ]]; then
	echo "run-demo: creating database frontdesk"
	"$psql" -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE frontdesk'
fi

FRONTDESK_DB="host=$(conninfo_quote "$PGHOST") port=$PGPORT user=frontdesk dbname=frontdesk"
FRONTDESK_LISTEN=${FRONTDESK_LISTEN:-tcp://127.0.0.1:7400}
FRONTDESK_EVENTS_LISTEN=${FRONTDESK_EVENTS_LISTEN:-tcp://127.0.0.1:7401}
export FRONTDESK_DB FRONTDESK_LISTEN FRONTDESK_EVENTS_LISTEN

"$frontdeskd" migrate up
"$frontdeskd" seed-demo

cat <<EOF

== How to connect a desk (in another terminal) ==
  export FRONTDESK_SERVER=$FRONTDESK_LISTEN
  $desk login --user reception1 --desk front-1
  $desk ping

== frontdeskd serving on $FRONTDESK_LISTEN (events on $FRONTDESK_EVENTS_LISTEN); Ctrl-C stops it ==
EOF

# The server gets Ctrl-C from the terminal itself; this shell only waits for it
# to return, then the EXIT trap stops the cluster.
trap : INT TERM
status=0
"$frontdeskd" serve || status=$?
exit "$status"
