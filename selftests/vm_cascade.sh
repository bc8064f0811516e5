#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# persohubd's [cascade] on one test machine: a nats-server on 127.0.0.1
# with mutual TLS (certificates made by tlscerts), and vm_cascade_test,
# which plays the hub's station and local servers and the other hub, and
# starts persohubd itself. TAP output (vm_cascade_test's). A missing
# nats-server fails the run.

set -u
certs=/tmp/certs
conf=/tmp/persohub.conf
log=/tmp/persohubd.log
nlog=/tmp/nats.log

fail() {
	echo "Bail out! $*"
	[ ! -f "$log" ] || sed 's/^/# persohubd: /' "$log" | tail -40
	[ ! -f "$nlog" ] || sed 's/^/# nats: /' "$nlog" | tail -20
	exit 1
}

command -v nats-server >/dev/null || fail "no nats-server in the test machine"
ip link set lo up || fail "lo"
{ mkdir -p "$certs" && tlscerts "$certs" >/dev/null; } || fail "tlscerts"
cat >/tmp/nats.conf <<EOC
listen: 127.0.0.1:4222
tls {
  cert_file: "$certs/good.pem"
  key_file: "$certs/good.key"
  ca_file: "$certs/ca.pem"
  verify: true
  timeout: 10
}
EOC
nats-server -c /tmp/nats.conf >"$nlog" 2>&1 &
npid=$!
i=0
until grep -q "Server is ready" "$nlog"; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "nats-server did not start"
	kill -0 $npid 2>/dev/null || fail "nats-server exited"
	sleep 0.1
done

cat >"$conf" <<EOC
[daemon]
resync_ms = 1000
metrics_dir = /tmp
metrics_interval_ms = 200

[cascade]
servers = tls://127.0.0.1:4222
site = test
name = hub-a
ca = $certs/ca.pem
cert = $certs/client.pem
key = $certs/client.key
offer = default
use = default
depth = 2
timeout_ms = 1500
EOC

# A key others may read: refused, the hub works alone.
cp "$certs/client.key" /tmp/open.key && chmod 644 /tmp/open.key
sed "s|^key = .*|key = /tmp/open.key|" "$conf" >/tmp/open.conf
persohubd -c /tmp/open.conf -S none >/tmp/open.log 2>&1 &
p=$!
i=0
until grep -q "attached as controller" /tmp/open.log || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q "key /tmp/open.key may be read by its group or others (mode 0644): refused" /tmp/open.log &&
	[ ! -e /dev/persohub-remote/cascade ]; then
	echo "ok - a key others may read is refused; no cascade"
else
	echo "not ok - a key others may read is refused; no cascade"
	sed 's/^/# /' /tmp/open.log
fi
kill $p
wait $p

# No [cascade]: no NATS at all (no worker thread, no cascade ports).
printf '[daemon]\nresync_ms = 1000\n' >/tmp/plain.conf
persohubd -c /tmp/plain.conf -S none >/tmp/plain.log 2>&1 &
p=$!
i=0
until grep -q "attached as controller" /tmp/plain.log || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if grep -q "attached as controller" /tmp/plain.log &&
	! grep -q nats /proc/$p/task/*/comm &&
	[ ! -e /dev/persohub-remote/cascade ] &&
	[ ! -e /dev/persohub-server/cascade-1 ]; then
	echo "ok - without [cascade]: no NATS thread, no cascade ports"
else
	echo "not ok - without [cascade]: no NATS thread, no cascade ports"
fi
kill $p
wait $p

vm_cascade_test "$conf" "$certs"
rc=$?
# The metrics file has the cascade's counters.
if grep -q '^persohub_cascade_sent_total [1-9]' /tmp/persohub.prom; then
	echo "ok - persohub.prom has the cascade's counters"
else
	echo "not ok - persohub.prom has the cascade's counters"
	rc=1
fi

# SIGHUP with a changed [cascade]: started again, as the file now says.
connected() {
	grep -q "^cascade $1 .* connected=1" /tmp/hup.state 2>/dev/null
}
persohubd -c "$conf" -S /tmp/hup.state >/tmp/hup.log 2>&1 &
p=$!
i=0
until connected 2 || [ $i -ge 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
sed -i 's/^depth = 2$/depth = 3/' "$conf"
kill -HUP $p
i=0
until connected 3 || [ $i -ge 200 ]; do
	sleep 0.1
	i=$((i + 1))
done
if connected 3 && grep -q "\[cascade\] changed: started again" /tmp/hup.log &&
	[ -e /dev/persohub-server/cascade-3 ]; then
	echo "ok - SIGHUP: the changed [cascade] started again (3 servers)"
else
	echo "not ok - SIGHUP: the changed [cascade] started again (3 servers)"
	sed 's/^/# /' /tmp/hup.log
	rc=1
fi
kill $p
wait $p
st=$?
if [ $st -ne 0 ] || [ -e /dev/persohub-server/cascade-1 ] ||
	[ -e /dev/persohub-remote/cascade ]; then
	echo "# persohubd exited with status $st"
	echo "not ok - persohubd stopped (status 0): its cascade ports removed"
	find /dev/persohub-server /dev/persohub-remote | sed 's/^/# /'
	tail -5 /tmp/hup.log | sed 's/^/# /'
	rc=1
else
	echo "ok - persohubd stopped (status 0): its cascade ports removed"
fi
if [ $rc -ne 0 ]; then
	sed 's/^/# persohubd: /' "$log" | tail -40
	sed 's/^/# nats: /' "$nlog" | tail -20
fi
kill $npid
wait $npid
exit $rc
