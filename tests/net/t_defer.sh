# The TLS port defers accept (TCP_DEFER_ACCEPT): connections that never
# speak hold no pending slot and cost no session; the parent fails the
# ones that were silent through the handshake deadline, closed unasked or
# sent something other than a TLS handshake, each counting towards the
# source's penalty.  Issue 13 item 6: in the lab's fault-load, 200 idle
# connections each cost a forked session and a handshake deadline.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "openssl not installed"
net_up
openssl rand -hex 32 >"$T/psk"
chmod 600 "$T/psk"
# src is allowed by name, so the global pending limit (1) applies to it.
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)
(relocd-handshake-timeout 3)
(relocd-max-pending 1)
(xend-relocation-hosts-allow '^src\\\\.relocd\\\\.test\$')" 8003
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk)\n' "$T" >"$T/client.sxp"

# 20 silent connections from evl: before, the first held the only
# pending slot until its deadline and the migration was refused busy.
nsx "$NS_EVL" python3 -c 'import socket, time
ss = [socket.create_connection(("10.77.0.2", 8003)) for i in range(20)]
time.sleep(12)' &
silent=$!
sleep 1
expect_ok migrate "$NS_SRC" --name pastsilent
received pastsilent || die "pastsilent not received"
wait $silent
grep -q "closed a connection from 10.77.0.3: silent for the handshake deadline" \
    "$T/relocd.log" || die "no silent connection was closed by the parent"

# Garbage and an instant close, each from an address of its own (10.77.0.3
# is penalised by now), judged at accept.
for a in 4 5; do ip -n "$NS_EVL" addr add "10.77.0.$a/24" dev eth0; done
nsx "$NS_EVL" python3 -c 'import socket
s = socket.socket(); s.bind(("10.77.0.4", 0))
s.connect(("10.77.0.2", 8003)); s.send(b"GET / HTTP/1.0\r\n\r\n")
try: print("garbage answered:", s.recv(100))
except ConnectionResetError: print("garbage answered: reset")
s = socket.socket(); s.bind(("10.77.0.5", 0))
s.connect(("10.77.0.2", 8003)); s.close()' >"$T/garbage.out"
cat "$T/garbage.out"
grep -Eq "answered: (b''|reset)" "$T/garbage.out" || die "garbage got an answer"
sleep 0.5
for why in "10.77.0.4: not a TLS client" "10.77.0.5: closed before its handshake"; do
    grep -q "closed a connection from $why" "$T/relocd.log" ||
        die "not judged at accept: $why"
done
alive
