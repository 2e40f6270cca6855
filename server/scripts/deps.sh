#!/usr/bin/env bash
# make deps: installs every Debian 12 package Frontdesk needs to build, run and
# test (compilers, protobuf-c, nng, libpq, libuv, libsodium, PostgreSQL 15,
# valgrind, clang sanitizers, ...). A quick no-op (no apt-get call) when all are
# installed. As root it runs apt-get itself; otherwise through sudo if present,
# else it prints the exact command to run and exits 1.
#
# Debian's postgresql package may create (and try to start) a default cluster;
# that is harmless: our scripts only use private clusters (pgcluster.sh).
set -euo pipefail

packages=(
	build-essential
	pkg-config
	protobuf-c-compiler
	libprotobuf-c-dev
	libnng-dev
	libmbedtls-dev
	libpq-dev
	libuv1-dev
	libsodium-dev
	postgresql-15
	postgresql-contrib
	postgresql-client-15
	valgrind
	clang
	libclang-rt-14-dev
	libncurses-dev
	tmux
	openssl
	procps
)

# One dpkg-query for all of them; unknown packages simply print nothing.
# The third word of ${Status} is the state ("installed", "config-files", ...).
declare -A installed=()
while read -r name _want _flag state; do
	if [[ $state == installed ]]; then
		installed[$name]=1
	fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null || true)

missing=()
for p in "${packages[@]}"; do
	[[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}" >&2

install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")

if ((EUID == 0)); then
	apt-get update
	DEBIAN_FRONTEND=noninteractive "${install_cmd[@]}"
elif command -v sudo >/dev/null 2>&1; then
	sudo apt-get update
	sudo DEBIAN_FRONTEND=noninteractive "${install_cmd[@]}"
else
	echo "deps: not root and no sudo; as root, run:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive ${install_cmd[*]}" >&2
	exit 1
fi

echo "deps: installed ${missing[*]}"
