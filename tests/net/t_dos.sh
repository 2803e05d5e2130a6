# Denial of service before authentication: a PTR lookup against a resolver
# that never answers ends within the handshake deadline, and 200 idle
# connections plus a trickle of bogus ones do not keep a legitimate
# migration out (per-host pending cap, early drop).
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
# More addresses for the attacker (all in its own namespace).
for a in 4 5 6; do ip -n "$NS_EVL" addr add "10.77.0.$a/24" dev eth0; done
# dst's resolver is evl's 10.77.0.53, which reads nothing and answers
# nothing: lookups of addresses without a hosts entry hang in DNS.
ip -n "$NS_EVL" addr add 10.77.0.53/24 dev eth0
mkdir -p "/etc/netns/$NS_DST"
printf 'nameserver 10.77.0.53\n' >"/etc/netns/$NS_DST/resolv.conf"
nsx "$NS_EVL" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.53", 53))
time.sleep(120)' &
i=0
until nsx "$NS_EVL" ss -lun | grep -q "10.77.0.53:53 "; do
    sleep 0.1; i=$((i + 1)); [ $i -gt 50 ] && die "no silent resolver"
done
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(relocd-handshake-timeout 3)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$ ^src\\\\.relocd\\\\.test\$')"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

# 10.77.0.4 has no hosts entry: its PTR query goes to the silent server.
# Timed from the connect to the answer: the processes' start-up on a
# loaded machine is not the daemon's to answer for.
out=$(nsx "$NS_EVL" python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("10.77.0.4", 0)); s.settimeout(30)
s.connect(("10.77.0.2", 8002)); t0 = time.monotonic()
try: print(s.recv(4096)[8:].decode() or "closed")
except OSError as e: print("error", e)
print("%.3f" % (time.monotonic() - t0))')
dt=$(echo "$out" | tail -n 1)
out=$(echo "$out" | sed '$d')
echo "PTR-hang peer: '$out' after $dt s"
[ "$(echo "$dt <= 4.5" | bc)" = 1 ] || die "unresolvable peer held $dt s"
echo "$out" | grep -q denied || die "unresolvable peer: '$out'"

# 200 idle from three attacker addresses, garbage from a fourth.
nsx "$NS_EVL" "$NETDIR/flood.py" 10.77.0.2 8002 12 200 \
    10.77.0.3,10.77.0.4,10.77.0.5 10.77.0.6 >"$T/flood.out" 2>&1 &
flood=$!
sleep 4
# From connect() to the answer, timed by the client itself.
out=$(nsx "$NS_SRC" "$NETDIR/rawpeer.py" 10.77.0.2 8002 hello)
echo "HELLO under load: $out"
echo "$out" | grep -q "^frame 1" || die "legitimate peer under load: '$out'"
dt=$(echo "$out" | sed -n 's/^answered after \([0-9.]*\) s$/\1/p')
[ "$(echo "$dt <= 2" | bc)" = 1 ] || die "served after $dt s"
t0=$(now)
expect_ok migrate "$NS_SRC" --name underload
echo "migration under load took $(secs "$t0" "$(now)") s"
received underload || die "underload not received"
wait $flood
cat "$T/flood.out"
lines=$(wc -l <"$T/relocd.log")
echo "relocd log: $lines lines, $(grep -c Rejected "$T/relocd.log") Rejected"
[ "$lines" -le 100 ] || die "the flood wrote $lines log lines"
alive
