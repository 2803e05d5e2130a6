# Pre-flight refuses with the check's name, the need and what is there,
# before anything is received; fake xl then reports the failure.
# shellcheck shell=sh source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"
net_up
RELOCD_FAKE_FREE_MB=512 RELOCD_FAKE_DOMAINS="taken other" start_relocd \
    "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')"
printf '(xend-relocation-port 8002)\n' >"$T/client.sxp"
expect_fail "pre-flight memory FAILED: needs 1024 MiB, 512 MiB free" \
    migrate "$NS_SRC" --name big --mem 1024
expect_fail "pre-flight name FAILED: taken already runs here" \
    migrate "$NS_SRC" --name taken
expect_fail "pre-flight live-pv FAILED: .*shadow paging" \
    migrate "$NS_SRC" --name pv1 --type pv
grep -q "keeps running here" "$T/out" || die "no reassurance for the admin"
[ -f "$FAKE_XL_LOG" ] && die "something was received: $(cat "$FAKE_XL_LOG")"
expect_ok migrate "$NS_SRC" --name fits --mem 256
received fits || die "fits not received"

# The stream must carry the config that was pre-flighted: a peer that has
# 64 MiB checked and then streams a 16 GiB guest is cut off before xl
# reads a byte of it (README.xen 3.2).
out=$(nsx "$NS_SRC" "$NETDIR/rawpeer.py" 10.77.0.2 8002 swap)
[ "$out" = dropped ] || die "swapped config: '$out'"
grep -q "refusing the stream of raw1: the guest config in the stream is not the one pre-flighted" \
    "$T/relocd.log" || die "no refusal of the swapped config in the log"
received raw1 && die "raw1 was received with a config never pre-flighted"
alive
