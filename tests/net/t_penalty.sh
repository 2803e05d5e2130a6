# Per-source penalties: a source whose sessions keep failing before they
# authenticate (a wrong key here) is refused: its packets to the ports are
# dropped in the kernel, with no session forked, no TLS work and not even
# an accept for it, while a listed peer elsewhere migrates as usual.  Issue 13 item 6: a flood of bogus
# connections cost the target a session, a sandbox and a TLS attempt
# each, which slowed a lab migration 4.5-fold (fault-load).
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip "openssl not installed"
net_up
openssl rand -hex 32 >"$T/psk"
chmod 600 "$T/psk"
start_relocd "(xend-relocation-ssl-server yes)
(relocd-psk-file $T/psk)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.')" 8003
printf '(xend-relocation-ssl yes)\n(relocd-psk-file %s/psk)\n' "$T" >"$T/client.sxp"

# Handshakes with a wrong key from 10.77.0.3, two at a time (within the
# per-host cap), until relocd penalises it: a penalty runs down in real
# time, so the attempts must come faster than one per ADMIT_PENALTY_MS
# even on a loaded host.  A session reads the ClientHello and answers (an
# alert: no such key).
evil() {
    nsx "$NS_EVL" timeout 10 openssl s_client -connect 10.77.0.2:8003 \
        -psk_identity evil -psk 00112233445566778899 -tls1_3 </dev/null 2>&1 |
        grep -o "SSL handshake has read [0-9]* bytes" || echo "no handshake"
}
penalised() {
    grep -q "10.77.0.3: its connections keep failing before they authenticate; refusing it" \
        "$T/relocd.log"
}
i=0
while [ $i -lt 15 ] && ! penalised; do
    i=$((i + 1))
    evil >"$T/evil.$i.a" &
    evil >"$T/evil.$i.b"
    wait $!
    cat "$T/evil.$i.a" "$T/evil.$i.b"
done >"$T/evil.out"
sort "$T/evil.out" | uniq -c
sessions=$(grep -c "read [1-9][0-9]* bytes" "$T/evil.out")
echo "sessions the wrong key got: $sessions"
[ "$sessions" -ge 3 ] || die "refused before any failure: $(head -n 3 "$T/evil.out")"
penalised || die "$sessions failed sessions from one address, not refused"
[ "$sessions" -le 20 ] || die "$sessions failed sessions before the penalty"
[ "$(grep -c "10.77.0.3: its connections keep failing" "$T/relocd.log")" = 1 ] ||
    die "the penalty was logged more than once"

# Penalised, 10.77.0.3 cannot even open a TCP connection: the listeners'
# socket filter drops its SYNs in the kernel (relocd/synfilter.c), so a
# flood from it costs the parent no accept, no close, no wake-up.  The
# parent's own refusal at accept (read 0 bytes) is the fallback.
tcp_from() {
    nsx "$1" python3 - "$2" <<'EOF2'
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect((sys.argv[1], 8003))
    print("connected")
except OSError as e:
    print("not connected: %s" % (e.strerror or e))
EOF2
}
out=$(tcp_from "$NS_EVL" 10.77.0.2)
case $out in "not connected: timed out") ;; *) die "the penalised source got: $out" ;; esac
# Another address is not touched.
out=$(tcp_from "$NS_SRC" 10.77.0.2)
[ "$out" = connected ] || die "another source got: $out"
expect_ok migrate "$NS_SRC" --name afterflood
received afterflood || die "afterflood not received"
alive
