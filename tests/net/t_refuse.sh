# Refusals: a TLS client refused for the pending limit reads ERROR busy;
# a burst of refused connections leaves a bounded number of log lines.
# Both peers are allowed by name, so both meet the global pending limit.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "openssl not installed"
net_up
openssl rand -hex 32 >"$T/psk"
chmod 600 "$T/psk"
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^src\\\\.relocd\\\\.test\$ ^evil\\\\.relocd\\\\.test\$')
(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)
(relocd-handshake-timeout 30)
(relocd-max-pending 1)" 8003
# holder PORT [BYTES]: one pending connection that says nothing more than
# BYTES (the TLS port hands over only a connection that has spoken)
holder() {
    # not nsx: a function run in the background is a subshell, which kill
    # would end without its python
    ip netns exec "$NS_EVL" python3 -c 'import socket, sys, time
s = socket.create_connection(("10.77.0.2", int(sys.argv[1])))
s.send(bytes.fromhex(sys.argv[2]))
time.sleep(25)' "$1" "${2:-}" &
    HOLDER=$!
    sleep 0.5
}

holder 8002
before=$(grep -c "refus" "$T/relocd.log")
nsx "$NS_SRC" python3 -c 'import socket
for i in range(300):
    try: socket.create_connection(("10.77.0.2", 8002), timeout=2).close()
    except OSError: pass'
sleep 1
lines=$(($(grep -c "refus" "$T/relocd.log") - before))
echo "300 refused connections: $lines log lines"
[ "$lines" -le 5 ] || die "$lines log lines for one burst"
kill "$HOLDER"
# the first byte of a ClientHello, and no more
holder 8003 16
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk)\n' "$T" >"$T/client.sxp"
expect_fail "refused \(busy\)" migrate "$NS_SRC" --name tlsbusy
cat "$T/out"
kill "$HOLDER"

alive
