#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/persohub-nats-conf on the host: the configuration it writes is
# one nats-server takes, serves TLS with the site's client certificates
# only, and it refuses what a site could get wrong. Loopback only; a
# port of its own. TAP output.
#
# Usage: nats_conf_test.sh TOP BUILD   (the tree, its build directory)
set -u
top=$1
b=$2
conf=$top/scripts/persohub-nats-conf
ping=$b/guest/nats_ping
n=0
fail=0
ok() {	# status description
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

echo "TAP version 13"
for t in nats-server "$ping" "$b/guest/tlscerts"; do
	command -v "$t" >/dev/null || { echo "Bail out! $t missing"; exit 1; }
done
d=$(mktemp -d)
srv=
trap '[ -z "$srv" ] || kill "$srv" 2>/dev/null; rm -rf "$d"' EXIT
"$b/guest/tlscerts" "$d" 127.0.0.1 >/dev/null
ok $? "tlscerts: a site CA, a server and a client certificate"

# A free port pair: bind 0 and read back what the kernel gave.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
args=(--name hub-a --site plant1 --ca "$d/ca.pem" --cert "$d/good.pem"
	--key "$d/good.key" --listen 127.0.0.1 --port "$port"
	--cluster-port "$cport" --route 127.0.0.2)

"$conf" "${args[@]}" -o "$d/nats.conf" 2>"$d/err" &&
	[ "$(stat -c %a "$d/nats.conf")" = 640 ] &&
	grep -qx "listen: 127.0.0.1:$port" "$d/nats.conf" &&
	grep -qx "  name: plant1" "$d/nats.conf" &&
	grep -qx "    \"nats-route://127.0.0.2:$cport\"" "$d/nats.conf" &&
	[ "$(grep -c 'verify: true' "$d/nats.conf")" = 2 ]
ok $? "written, mode 0640, nats-server -t takes it; TLS verified for clients and routes"
"$conf" "${args[@]}" | cmp -s - <(grep -v '^$' "$d/nats.conf")
ok $? "without -o: the same on standard output"

nats-server -c "$d/nats.conf" >"$d/nats.log" 2>&1 &
srv=$!
url=tls://127.0.0.1:$port
i=0
until grep -q "Server is ready" "$d/nats.log" || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q "Server is ready" "$d/nats.log"
ok $? "nats-server runs with it (port $port)"

tls=(--ca "$d/ca.pem" --cert "$d/client.pem" --key "$d/client.key")
"$ping" "${tls[@]}" --for 10 echo "$url" conf.test >"$d/echo.log" 2>&1 &
echo_pid=$!
"$ping" "${tls[@]}" --wait 10 ping "$url" conf.test hello >"$d/ping.log" 2>&1
r=$?
kill "$echo_pid" 2>/dev/null
wait "$echo_pid" 2>/dev/null
ok $r "a hub with the site's client certificate: a round trip through it"
"$ping" --ca "$d/ca.pem" --cert "$d/other-client.pem" \
	--key "$d/other-client.key" ping "$url" conf.test hello >/dev/null 2>&1
[ $? = 1 ]
ok $? "a client certificate of another CA: no connection"
"$ping" --ca "$d/ca.pem" ping "$url" conf.test hello >/dev/null 2>&1
[ $? = 1 ]
ok $? "no client certificate: no connection"
kill "$srv"
wait "$srv" 2>/dev/null
srv=

cp "$d/good.key" "$d/loose.key"
chmod 644 "$d/loose.key"
a2=("${args[@]}")
a2[9]=$d/loose.key
"$conf" "${a2[@]}" >/dev/null 2>"$d/err"
[ $? = 2 ] && grep -q "loose.key: others may read it" "$d/err"
ok $? "a key others may read: refused, named"
"$conf" --name hub-a --site plant1 --ca "$d/ca.pem" --cert "$d/good.pem" \
	>/dev/null 2>"$d/err"
[ $? = 2 ] && grep -q -- "--key is required" "$d/err"
ok $? "a missing --key: refused, named"
"$conf" "${args[@]}" --port 42x >/dev/null 2>"$d/err"
[ $? = 2 ]
ok $? "a port that is not a number: refused"
"$conf" --name hub-a --site 'plant 1' --ca "$d/ca.pem" --cert "$d/good.pem" \
	--key "$d/good.key" >/dev/null 2>"$d/err"
[ $? = 2 ]
ok $? "a site name with a space: refused"

echo "1..$n"
exit $fail
