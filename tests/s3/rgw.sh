#!/bin/bash
# A real S3 server for the tests: Ceph's radosgw on a one-node cluster
# (one monitor, one OSD keeping objects in memory with memstore), all of
# it under DIR and on 127.0.0.1, so that requests are checked as a real
# store checks them (signatures, payload hashes).
#   rgw.sh start DIR   starts it, makes a user and the bucket berth-test,
#                      writes DIR/env (S3_ENDPOINT S3_REGION S3_ACCESS_KEY
#                      S3_SECRET_KEY S3_BUCKET), prints the seconds taken
#   rgw.sh stop DIR    stops every daemon start began
set -u
cmd=${1:-}
DIR=${2:-}
if [ -z "$cmd" ] || [ -z "$DIR" ]; then
	echo "usage: rgw.sh start|stop DIR" >&2
	exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/ports.sh"

stop() {
	local pid f i
	for f in "$DIR"/run/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	rm -f "$DIR"/run/*.pid
	return 0
}

if [ "$cmd" = stop ]; then
	stop
	exit 0
fi
[ "$cmd" = start ] || { echo "rgw.sh: unknown command $cmd" >&2; exit 2; }

# fail MESSAGE: one attempt failed; its logs are shown, its daemons stop.
fail() {
	echo "rgw.sh: $*" >&2
	for f in "$DIR"/log/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f" >&2
		grep -v NetHandler "$f" | tail -n 15 >&2
	done
	stop
	exit 1	# attempt runs in a subshell
}

attempt() {
	mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/osd/ceph-0" "$DIR/rgw"
	DIR=$(cd "$DIR" && pwd)
	CONF=$DIR/ceph.conf
	free_port || fail "no free port"
	MON_PORT=$PORT
	free_port || fail "no free port"
	RGW_PORT=$PORT
	# The OSD's own ports, away from another cluster's on this machine.
	OSD_PORT=$((20000 + RANDOM % 10000))
	FSID=$(cat /proc/sys/kernel/random/uuid)
	cat >"$CONF" <<-CONF
	[global]
	fsid = $FSID
	mon_host = v1:127.0.0.1:$MON_PORT
	ms_bind_msgr2 = false
	ms_bind_ipv4 = true
	ms_bind_ipv6 = false
	ms_mon_client_mode = crc
	auth_cluster_required = none
	auth_service_required = none
	auth_client_required = none
	mon_data_avail_crit = 0
	mon_allow_pool_size_one = true
	mon_warn_on_pool_no_redundancy = false
	mon_max_pg_per_osd = 2000
	osd_pool_default_size = 1
	osd_pool_default_min_size = 1
	osd_pool_default_pg_num = 8
	osd_pool_default_pgp_num = 8
	osd_pool_default_pg_autoscale_mode = off
	osd_crush_chooseleaf_type = 0
	osd_objectstore = memstore
	memstore_device_bytes = 4294967296
	run_dir = $DIR/run
	admin_socket = $DIR/run/\$name.asok
	log_file = $DIR/log/\$name.log
	pid_file = $DIR/run/\$name.pid
	mon_data = $DIR/mon/\$cluster-\$id
	osd_data = $DIR/osd/\$cluster-\$id
	keyring = $DIR/keyring
	ms_bind_port_min = $OSD_PORT
	ms_bind_port_max = $((OSD_PORT + 40))
	public_addr = 127.0.0.1
	cluster_addr = 127.0.0.1
	[client.rgw]
	rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
	rgw_dns_name = localhost
	rgw_data = $DIR/rgw
	CONF
	: >"$DIR/keyring"
	monmaptool --create --addv a "[v1:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$DIR/monmap" \
		>"$DIR/log/monmaptool.out" 2>&1 || fail "monmaptool failed"
	ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" >"$DIR/log/mkfs-mon.out" 2>&1 ||
		fail "ceph-mon --mkfs failed: $(tail -n 3 "$DIR/log/mkfs-mon.out")"
	ceph-mon -c "$CONF" -i a >"$DIR/log/mon.out" 2>&1 || fail "ceph-mon did not start"
	OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
	ceph -c "$CONF" --connect-timeout 20 osd create "$OSD_UUID" >"$DIR/log/osd-create.out" 2>&1 ||
		fail "ceph osd create failed: $(tail -n 3 "$DIR/log/osd-create.out")"
	ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/mkfs-osd.out" 2>&1 ||
		fail "ceph-osd --mkfs failed: $(tail -n 3 "$DIR/log/mkfs-osd.out")"
	ceph-osd -c "$CONF" -i 0 >"$DIR/log/osd.out" 2>&1 || fail "ceph-osd did not start"
	radosgw -c "$CONF" -n client.rgw >"$DIR/log/rgw.out" 2>&1 || fail "radosgw did not start"
	up=0
	for ((i = 0; i < 600; i++)); do
		if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
			up=1
			break
		fi
		sleep 0.1
	done
	[ "$up" = 1 ] || fail "radosgw does not answer on 127.0.0.1:$RGW_PORT"
	AK=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
	SK=$(head -c 24 /dev/urandom | base64 | tr -d '\n')
	radosgw-admin -c "$CONF" -n client.rgw user create --uid=berth \
		--display-name=berth --access-key="$AK" --secret-key="$SK" \
		>"$DIR/log/user.out" 2>&1 || fail "radosgw-admin user create failed"
	cat >"$DIR/env" <<-ENV
	S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
	S3_REGION=us-east-1
	S3_ACCESS_KEY=$AK
	S3_SECRET_KEY=$SK
	S3_BUCKET=berth-test
	ENV
	set -a
	. "$DIR/env"
	set +a
	python3 - <<-'PY' || fail "could not create the bucket"
	import os, botocore.session
	from botocore.config import Config
	c = botocore.session.get_session().create_client(
	    "s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
	    aws_access_key_id=os.environ["S3_ACCESS_KEY"],
	    aws_secret_access_key=os.environ["S3_SECRET_KEY"],
	    config=Config(s3={"addressing_style": "path"}))
	c.create_bucket(Bucket=os.environ["S3_BUCKET"])
	PY
	echo "rgw.sh: radosgw on 127.0.0.1:$RGW_PORT, up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}

t0=$(date +%s.%N)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# A start now and then fails on a fresh cluster (the OSD's first command
# is refused); a new cluster in a clean directory then comes up.
for try in 1 2 3; do
	(attempt) && exit 0
	echo "rgw.sh: attempt $try failed; starting afresh" >&2
	stop
	rm -rf "${DIR:?}"/{run,log,mon,osd,rgw,keyring,monmap,ceph.conf,env}
done
exit 1
