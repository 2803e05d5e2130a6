# Per-source penalties: a source whose sessions keep failing before they
# authenticate (a wrong key here) is refused by the parent at
# accept, closed with no session forked and no TLS work for it, while a
# listed peer elsewhere migrates as usual.  Issue 13 item 6: a flood of bogus
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

# 30 handshakes with a wrong key from 10.77.0.3, one after the other.  A
# session reads the ClientHello and answers (an alert: no such key); the
# parent closes a penalised source's connection unread ("read 0 bytes").
for i in $(seq 30); do
    nsx "$NS_EVL" timeout 10 openssl s_client -connect 10.77.0.2:8003 \
        -psk_identity evil -psk 00112233445566778899 -tls1_3 </dev/null 2>&1 |
        grep -o "SSL handshake has read [0-9]* bytes" || echo "no handshake"
done >"$T/evil.out"
sort "$T/evil.out" | uniq -c
sessions=$(grep -c "read [1-9][0-9]* bytes" "$T/evil.out")
echo "sessions the wrong key got: $sessions of 30"
[ "$sessions" -ge 3 ] || die "refused before any failure: $(head -n 3 "$T/evil.out")"
[ "$sessions" -le 15 ] || die "$sessions failed sessions from one address, not refused"
tail -n 1 "$T/evil.out" | grep -q "read 0 bytes" ||
    die "the last wrong-key connection got: $(tail -n 1 "$T/evil.out")"
grep -q "10.77.0.3: its connections keep failing before they authenticate; refusing it" \
    "$T/relocd.log" || die "the log does not say why 10.77.0.3 is refused"
[ "$(grep -c "10.77.0.3: its connections keep failing" "$T/relocd.log")" = 1 ] ||
    die "the penalty was logged more than once"
# Another address is not touched.
expect_ok migrate "$NS_SRC" --name afterflood
received afterflood || die "afterflood not received"
alive
