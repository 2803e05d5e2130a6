# The stream phase on plain TCP (xl reads the socket itself) has an idle
# limit: a peer silent after ACCEPT is dropped and its receiver stopped;
# a slow but steady sender, and a source that waits after "domain
# received", are never cut.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-stream-idle-timeout 2)"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"

out=$(nsx "$NS_SRC" "$NETDIR/rawpeer.py" 10.77.0.2 8002 stall)
echo "silent after MIGRATE: $out"
echo "$out" | grep -q "dropped after" || die "silent peer: '$out'"
dt=$(echo "$out" | sed 's/dropped after \([0-9.]*\) s/\1/')
[ "$(echo "$dt <= 5" | bc)" = 1 ] || die "silent peer dropped after $dt s"
grep -q "idle for 2 s" "$T/relocd.log" || die "no idle message in the log"
grep -q "cleanup of raw1--incoming" "$T/relocd.log" || die "no cleanup"

# Gaps of 1 s between MiBs: slower than the limit's half, never idle.
expect_ok migrate "$NS_SRC" --name steady --mib 4 --slow 1
received steady || die "steady not received"
# After "domain received" the receiver is never stopped.
expect_ok migrate "$NS_SRC" --name waits --stall 4
received waits || die "waits not received"
alive
