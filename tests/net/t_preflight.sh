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
# What the guest may use in dom0 (relocd-disk-allow and friends, default
# policy).  --cfg is split on blanks: compact JSON only.
expect_fail "pre-flight disk FAILED: disk xvda: /etc/shadow is an image file" \
    migrate "$NS_SRC" --name img \
    --cfg '{"disks":[{"vdev":"xvda","pdev_path":"/etc/shadow"}]}'
expect_fail "pre-flight script FAILED: vif 0: script /tmp/evil is not in" \
    migrate "$NS_SRC" --name scr \
    --cfg '{"nics":[{"mac":"00:16:3e:00:00:01","script":"/tmp/evil"}]}'
expect_fail "pre-flight device-model FAILED: .*b_info.extra" \
    migrate "$NS_SRC" --name dm --cfg '{"b_info":{"extra":["-s"]}}'
# dom0's root filesystem's device, when it has one (not an overlay)
rootdev=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break }
    $5 == "/" { print $(i + 2); exit }' /proc/self/mountinfo)
if [ -b "$rootdev" ]; then
    expect_fail "pre-flight disk FAILED: disk xvda: $rootdev .* is dom0's own" \
        migrate "$NS_SRC" --name root \
        --cfg "{\"disks\":[{\"vdev\":\"xvda\",\"pdev_path\":\"$rootdev\"}]}"
else
    echo "t_preflight: / is on $rootdev, no block device: dom0-disk case skipped"
fi
[ -f "$FAKE_XL_LOG" ] && die "something was received: $(cat "$FAKE_XL_LOG")"
expect_ok migrate "$NS_SRC" --name fits --mem 256 \
    --cfg '{"nics":[{"mac":"00:16:3e:00:00:02","script":"vif-bridge"}],"b_info":{"bootloader":"pygrub"}}'
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
kill "$RELOCD_PID"; wait "$RELOCD_PID" 2>/dev/null

# The handshake deadline bounds the peer, not this host's own checks: a
# pre-flight that takes longer than relocd-handshake-timeout (a loaded
# dom0: lvm, libxl under emulation) leaves the peer a full timeout for
# its next request.
RELOCD_FAKE_PREFLIGHT_MS=3000 start_relocd "(xend-relocation-server yes)
(relocd-allow-insecure yes)
(relocd-handshake-timeout 2)
(xend-relocation-hosts-allow '^10\\\\.77\\\\.0\\\\.1\$')"
expect_ok migrate "$NS_SRC" --name slowcheck
received slowcheck || die "slowcheck not received after a slow pre-flight"
alive
