#!/bin/sh
# `make deps`: installs with apt-get the Debian 12 packages that building,
# running and testing Berth need, when any is missing.  Silent when all are
# present.  Uses sudo when not root.
set -eu

PACKAGES="build-essential pkg-config libmicrohttpd-dev libpq-dev
	libjansson-dev libssl-dev libcurl4-openssl-dev libjwt-dev libargon2-dev
	postgresql postgresql-contrib skopeo curl jq openssl ca-certificates
	libldap-dev slapd ldap-utils samba samba-ad-dc samba-ad-provision iproute2"

die() {
	echo "deps.sh: $*" >&2
	exit 1
}

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: Berth builds on Debian 12; install by hand: $(echo $PACKAGES)"

missing=
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || status=
	[ "$status" = installed ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1; then
	sudo=sudo
else
	die "missing packages:$missing; run as root or install sudo"
fi
command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install:$missing"

echo "deps.sh: installing$missing" >&2
# sudo resets the environment, so the variable goes through env(1).
$sudo apt-get update -qq ||
	die "apt-get update failed"
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null ||
	die "apt-get install failed:$missing"
