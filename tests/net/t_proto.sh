# Protocol errors: each bad input gets its typed ERROR, the daemon lives on.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')
(relocd-handshake-timeout 3)"
raw() { nsx "$NS_SRC" "$NETDIR/rawpeer.py" 10.77.0.2 8002 "$1"; }
check() {
    out=$(raw "$1")
    echo "$out" | grep -Eq -- "$2" || die "$1: got '$out', wanted /$2/"
    alive
}
check version "ERROR version-mismatch: client speaks versions 7\.\.9, this relocd 1\.\.1"
check oversize "ERROR bad-frame"
check flags "ERROR bad-frame"
check truncated "closed|ERROR"
check garbage "ERROR bad-frame"
check notjson "ERROR bad-message: HELLO is not JSON"
check early "ERROR unexpected: MIGRATE not expected now"
check badflag "ERROR bad-flags: '--colo' is not a flag"
# each answer renews the handshake deadline, so their number is capped
check preflights "after 9: ERROR unexpected: more than 8 PREFLIGHTs in one session"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"
expect_ok migrate "$NS_SRC" --name after
received after || die "a good migration after the bad ones failed"
