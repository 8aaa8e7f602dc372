#!/bin/sh
# `make deps`: installs with apt-get the Debian 12 packages that building,
# running and testing Berth need, when any is missing; extra packages may
# be named as arguments (bench/deps.sh does). Silent when all are present.
# Uses sudo when not root.
#
# Debian starts a package's service when it installs it, which would put
# slapd and Samba on the LDAP ports, a registry on :5000, nginx on :80 and
# Prometheus (installed for promtool, which checks /metrics) on :9090.
# dockerd with its containerd.
# Berth's tests and benchmarks start their own instances from temporary
# directories, so while we install a policy-rc.d refuses every start
# (unless one is already in place), and on systemd hosts the services of
# the packages we installed are then disabled.
set -eu

PACKAGES="build-essential pkg-config libmicrohttpd-dev libpq-dev
	libjansson-dev libssl-dev libcurl4-openssl-dev libjwt-dev libargon2-dev
	libgnutls28-dev
	postgresql postgresql-contrib skopeo curl jq openssl ca-certificates
	libldap-dev slapd ldap-utils samba samba-ad-dc samba-ad-provision iproute2 socat
	prometheus
	docker.io procps
	libxml2-dev ceph-mon ceph-osd radosgw ceph-common python3-botocore
	libaws-signature4-perl
	$*"
SERVICES="slapd samba-ad-dc smbd nmbd winbind docker-registry nginx
	ceph.target ceph-mon.target ceph-osd.target ceph-radosgw.target
	ceph-mgr.target ceph-crash
	prometheus prometheus-node-exporter docker docker.socket containerd"
POLICY=/usr/sbin/policy-rc.d

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

# Services already enabled before we install are the operator's: kept.
enabled=
if [ -d /run/systemd/system ]; then
	for s in $SERVICES; do
		if systemctl is-enabled --quiet "$s" 2>/dev/null; then
			enabled="$enabled $s"
		fi
	done
fi
our_policy=0
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs\nexit 101\n' |
		$sudo tee "$POLICY" >/dev/null && $sudo chmod 755 "$POLICY" &&
		our_policy=1
fi
remove_policy() {
	[ "$our_policy" = 0 ] || $sudo rm -f "$POLICY"
}
trap remove_policy EXIT

echo "deps.sh: installing$missing" >&2
# sudo resets the environment, so the variable goes through env(1).
$sudo apt-get update -qq ||
	die "apt-get update failed"
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null ||
	die "apt-get install failed:$missing"

if [ -d /run/systemd/system ]; then
	for s in $SERVICES; do
		case " $enabled " in
		*" $s "*) ;;
		*) $sudo systemctl disable --now "$s" >/dev/null 2>&1 || : ;;
		esac
	done
fi
