#!/bin/sh
# What `make bench` needs beyond `make deps`, installed with apt-get when
# missing (through sudo when not root); silent when all are present.
#   docker-registry  CNCF Distribution 2.8, the server Berth is compared with
#   nginx            the machine's limits: sendfile GET and a WebDAV PUT
#                    (dav_methods is in Debian's nginx, http_dav_module)
#   skopeo jq openssl curl, and gcc with the libcurl, jansson and OpenSSL
#   headers for bench/loadgen.
# Debian starts a package's service when it installs it, which would put a
# registry on :5000 (where `make run` listens) and nginx on :80.  While we
# install, a policy-rc.d that refuses every start is in place (unless one
# already is), and services of packages we installed are then disabled on
# systemd hosts; bench/run.sh starts its own instances in a temp dir.
set -eu

PACKAGES="docker-registry nginx skopeo jq openssl curl gcc
	libcurl4-openssl-dev libjansson-dev libssl-dev"
SERVICES="docker-registry nginx"
POLICY=/usr/sbin/policy-rc.d

die() {
	echo "bench/deps.sh: $*" >&2
	exit 1
}

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: the benchmark runs on Debian 12; install by hand: $(echo $PACKAGES)"

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

our_policy=0
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# bench/deps.sh: no service starts while it installs\nexit 101\n' |
		$sudo tee "$POLICY" >/dev/null && $sudo chmod 755 "$POLICY" &&
		our_policy=1
fi
remove_policy() {
	[ "$our_policy" = 0 ] || $sudo rm -f "$POLICY"
}
trap remove_policy EXIT

echo "bench/deps.sh: installing$missing" >&2
$sudo apt-get update -qq || die "apt-get update failed"
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends $missing >/dev/null ||
	die "apt-get install failed:$missing"

if [ -d /run/systemd/system ]; then
	for s in $SERVICES; do
		case " $missing " in
		*" $s "*) $sudo systemctl disable --now "$s" >/dev/null 2>&1 || : ;;
		esac
	done
fi
