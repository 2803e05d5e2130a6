# Allow-list by IP and by name, the typed 'denied' error, xend's log line.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$ ^nothing\\\\.example\$')"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"

expect_ok migrate "$NS_SRC" --name g1
received g1 || die "g1 not received"
expect_fail "refused \(denied\): 10\.77\.0\.3 is not in xend-relocation-hosts-allow" \
    migrate "$NS_EVL" --name g2
received g2 && die "g2 received from a denied peer"
grep -q "Rejected connection from 10.77.0.3 (evil.relocd.test)." "$T/relocd.log" ||
    die "xend's rejection line missing"
alive

# By name: allow evil.relocd.test by its reverse name only.
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^evil\\\\.relocd\\\\.test\$')"
expect_ok migrate "$NS_EVL" --name g3
received g3 || die "g3 not received (allowed by name)"
expect_fail "denied" migrate "$NS_SRC" --name g4
