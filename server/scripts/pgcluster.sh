#!/usr/bin/env bash
# pgcluster.sh: manages a private PostgreSQL 15 cluster living in one folder,
# for `make run` (./var/pg), the test runner (a mktemp folder) and benchmarks.
#
#   pgcluster.sh start DIR   create on first use (initdb), start, wait until ready
#   pgcluster.sh stop DIR    pg_ctl stop -m fast; fine when not running
#   pgcluster.sh env DIR     print `export PGHOST=... PGPORT=... PGUSER=...` lines
#
# Layout: DIR/data (the cluster), DIR/socket (unix socket dir, mode 0700),
# DIR/server.log. No TCP (listen_addresses=''), so clusters never clash on a
# port. The PostgreSQL role is always `frontdesk` (trust auth over the socket).
# initdb refuses root, so as root the cluster belongs to a system user
# `frontdesk` (created if missing) and its tools run via runuser; as any other
# user the cluster belongs to that user.
#
# Env: FD_PG_FAST=1  fsync=off, synchronous_commit=off, full_page_writes=off
#                    (tests; data may be lost on a crash). Read at each start
#                    of a stopped cluster.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
PGROLE=frontdesk
PGPORT_NUM=5432
SYS_USER=frontdesk

die() {
	echo "pgcluster: $*" >&2
	exit 1
}

usage() {
	echo "usage: pgcluster.sh {start|stop|env} DIR" >&2
	exit 2
}

(($# == 2)) || usage
cmd=$1
[[ -n $2 ]] || usage
dir=$(realpath -m -- "$2")
data=$dir/data
sock=$dir/socket
log=$dir/server.log

# Runs a command as the cluster's owner.
as_owner() {
	if ((EUID == 0)); then
		runuser -u "$SYS_USER" -- "$@"
	else
		"$@"
	fi
}

pg_running() {
	[[ -f $data/PG_VERSION ]] && as_owner "$PGBIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

pg_ready() {
	"$PGBIN/pg_isready" -q -h "$sock" -p "$PGPORT_NUM" -U "$PGROLE" -d postgres
}

show_log_tail() {
	if [[ -f $log ]]; then
		echo "pgcluster: last lines of $log:" >&2
		tail -n 30 "$log" >&2 || true
	fi
}

# As root: the system user exists, owns DIR, and can reach DIR through its parents.
prepare_root() {
	if ! id -u "$SYS_USER" >/dev/null 2>&1; then
		useradd -r -m -s /bin/bash "$SYS_USER" ||
			die "cannot create system user $SYS_USER"
	fi
	local owner
	owner=$(stat -c %U -- "$dir")
	if [[ $owner != "$SYS_USER" ]]; then
		# A folder made by another user (or by root before): hand it all over.
		chown -R "$SYS_USER:" -- "$dir"
	fi
	local parent
	parent=$(dirname -- "$dir")
	if runuser -u "$SYS_USER" -- test -x "$parent"; then
		return 0
	fi
	# Walk down from / and open each folder the user cannot traverse.
	local p="" part
	local -a parts
	IFS=/ read -ra parts <<<"${parent#/}"
	for part in "${parts[@]}"; do
		[[ -n $part ]] || continue
		p+="/$part"
		if ! runuser -u "$SYS_USER" -- test -x "$p"; then
			echo "pgcluster: $p is not traversable by user $SYS_USER; chmod o+x $p" >&2
			chmod o+x -- "$p" ||
				die "cannot make $p traversable for $SYS_USER; put DIR elsewhere"
		fi
	done
	runuser -u "$SYS_USER" -- test -x "$parent" ||
		die "user $SYS_USER still cannot reach $parent; put DIR elsewhere"
}

do_init() {
	local locale=C
	if locale -a 2>/dev/null | grep -qixE 'c\.utf-?8'; then
		locale=C.UTF-8
	fi
	echo "pgcluster: creating a PostgreSQL 15 cluster in $data"
	if ! as_owner "$PGBIN/initdb" -D "$data" -U "$PGROLE" --auth=trust -E UTF8 \
		--locale="$locale" --no-instructions >"$dir/initdb.log" 2>&1 9>&-; then
		cat "$dir/initdb.log" >&2
		rm -rf -- "$data"
		die "initdb failed"
	fi
	# Our settings live in their own file, rewritten at every start.
	echo "include_if_exists = 'frontdesk.conf'" | as_owner tee -a "$data/postgresql.conf" >/dev/null
}

write_conf() {
	local fast=off
	[[ ${FD_PG_FAST:-} == 1 ]] && fast=on
	local sock_q=${sock//\'/\'\'}
	{
		echo "# Written by server/scripts/pgcluster.sh at each start; edits are lost."
		echo "listen_addresses = ''"
		echo "port = $PGPORT_NUM"
		echo "unix_socket_directories = '$sock_q'"
		echo "unix_socket_permissions = 0777"
		echo "max_connections = 200"
		echo "shared_buffers = 128MB"
		if [[ $fast == on ]]; then
			echo "fsync = off"
			echo "synchronous_commit = off"
			echo "full_page_writes = off"
		fi
	} | as_owner tee "$data/frontdesk.conf" >/dev/null
}

cmd_start() {
	[[ -x $PGBIN/initdb ]] || die "$PGBIN/initdb not found; run 'make deps'"
	# sun_path holds 107 bytes: "$sock/.s.PGSQL.5432" must fit.
	((${#sock} + 15 <= 107)) || die "path too long for a unix socket: $sock"
	mkdir -p -- "$dir"
	if ((EUID == 0)); then
		prepare_root
	fi
	cd -- "$dir" # the owner's tools must be able to stat their cwd
	exec 9>>"$dir/.lock"
	flock 9

	as_owner mkdir -p -- "$sock"
	as_owner chmod 0700 -- "$sock"

	if [[ ! -f $data/PG_VERSION ]]; then
		do_init
	fi

	if ! pg_running; then
		write_conf
		# 9>&-: the postmaster must not inherit (and keep) our lock.
		if ! as_owner "$PGBIN/pg_ctl" start -D "$data" -l "$log" -w -t 30 -s \
			>/dev/null 2>&1 9>&-; then
			show_log_tail
			die "PostgreSQL did not start (data: $data)"
		fi
	fi

	local i
	for ((i = 0; i < 300; i++)); do
		if pg_ready; then
			echo "pgcluster: PostgreSQL 15 ready (socket dir $sock, user $PGROLE)"
			return 0
		fi
		sleep 0.1
	done
	show_log_tail
	die "PostgreSQL not ready after 30 s (socket dir $sock)"
}

cmd_stop() {
	if [[ ! -d $dir ]]; then
		return 0
	fi
	cd -- "$dir"
	exec 9>>"$dir/.lock"
	flock 9
	if ! pg_running; then
		echo "pgcluster: not running ($data)"
		return 0
	fi
	if ! as_owner "$PGBIN/pg_ctl" stop -D "$data" -m fast -w -t 60 -s; then
		echo "pgcluster: fast stop failed; trying immediate" >&2
		as_owner "$PGBIN/pg_ctl" stop -D "$data" -m immediate -w -t 30 -s ||
			die "cannot stop PostgreSQL in $data"
	fi
	echo "pgcluster: stopped ($data)"
}

cmd_env() {
	printf 'export PGHOST=%q\n' "$sock"
	printf 'export PGPORT=%q\n' "$PGPORT_NUM"
	printf 'export PGUSER=%q\n' "$PGROLE"
}

case $cmd in
start) cmd_start ;;
stop) cmd_stop ;;
env) cmd_env ;;
*) usage ;;
esac
