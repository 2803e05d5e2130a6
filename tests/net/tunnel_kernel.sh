#!/bin/sh
# tunnel_kernel.sh [BUILD] - the tunnel checks on Debian 12's own kernel:
# boots the lab's Debian kernel (no Xen) under QEMU with a small initramfs
# (busybox, iproute2, iputils ping, tunnelctl, the bridge/veth/tun/ip_gre/
# vxlan modules) and runs the tunnel_lib.sh topology in it: for vxlan,
# gretap and etherip, pings both ways, full-size frames, 32 MiB of TCP
# checked both ways, a guest moving with an announcement; EtherIP also over
# a 1500-byte underlay.  For kernels that lack a kind here (gretap on the
# build machine).  Not run by tests/net/run (a boot takes a minute or two);
# needs the lab's cache (tests/lab/run prepares it) and root.
# Exit 0 pass, 77 skip, 1 fail.
set -u
here=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-${BUILD:-$here/../../build}}" && pwd)
LAB_CACHE=${LAB_CACHE:-/var/tmp/relocd-lab}
R=$LAB_CACHE/root
KERNEL=$LAB_CACHE/base/vmlinuz
W=$(mktemp -d /tmp/relocd-tunkern.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM

skip() { echo "$*"; exit 77; }
[ -f "$KERNEL" ] && [ -d "$R/lib/modules" ] ||
    skip "no lab cache in $LAB_CACHE (run tests/lab/run once)"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
command -v busybox >/dev/null || skip "no busybox"
# shellcheck disable=SC2012 # kernel version names, nothing odd in them
K=$(ls "$R/lib/modules" | head -n 1)
BUILD=$BUILD T=$W TUN_LOG=$W/log sh -c ". '$here/tunnel_lib.sh'; tun_build" ||
    exit $?

# tcpx: a TCP sender and receiver that agree on a hash (no python here).
cat >"$W/tcpx.c" <<'EOF'
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    static unsigned char b[1 << 16];
    uint64_t h = 1469598103934665603ull, n = 0, x = 88172645463325252ull;
    struct sockaddr_in a = {.sin_family = AF_INET};
    int s = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;
    ssize_t k, i;
    long m;
    size_t o;

    if (argc > 2 && argv[1][0] == 'r') {
        a.sin_port = htons(atoi(argv[2]));
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, 4);
        if (bind(s, (void *)&a, sizeof(a)) || listen(s, 1)) return 1;
        c = accept(s, NULL, NULL);
        while ((k = read(c, b, sizeof(b))) > 0)
            for (i = 0; i < k; i++, n++) h = (h ^ b[i]) * 1099511628211ull;
    } else if (argc > 4) {
        inet_pton(AF_INET, argv[2], &a.sin_addr);
        a.sin_port = htons(atoi(argv[3]));
        if (connect(s, (void *)&a, sizeof(a))) return 1;
        for (m = 0; m < atol(argv[4]) * 16; m++) {
            for (o = 0; o < sizeof(b); o++, n++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                b[o] = (unsigned char)x;
                h = (h ^ b[o]) * 1099511628211ull;
            }
            for (o = 0; o < sizeof(b); o += (size_t)k)
                if ((k = write(s, b + o, sizeof(b) - o)) <= 0) return 1;
        }
        close(s);
    } else {
        return 2;
    }
    printf("%llu %016llx\n", (unsigned long long)n, (unsigned long long)h);
    return 0;
}
EOF
"${CC:-cc}" -O2 -o "$W/tcpx" "$W/tcpx.c" || exit 1

cat >"$W/vmtest.sh" <<'EOF'
export BUILD=/bin T=/tmp/t TUN_LOG=/tmp/t/log
mkdir -p $T
# Debian's busybox sh runs its own applets first: use the real tools.
ip() { /bin/ip "$@"; }
ping() { /bin/ping "$@"; }
date() { /bin/date "$@"; }
die() { echo "VMFAIL: $*"; cat $TUN_LOG; exit 1; }
skip() { echo "VMSKIP: $*"; exit 0; }
. /lab/tunnel_lib.sh
tcp_check() {
    ip netns exec "$2" /bin/tcpx recv 5599 >$T/rx &
    rx=$!
    sleep 0.5
    sent=$(ip netns exec "$1" /bin/tcpx send "$3" 5599 "$4")
    wait $rx
    [ -n "$sent" ] && [ "$sent" = "$(cat $T/rx)" ]
}
echo "VMKERNEL $(uname -r)"
tun_topo 1600
for kind in vxlan gretap etherip; do
    tctl "$NS_A" probe $kind >/dev/null || die "$kind: $(tail -n 1 $TUN_LOG)"
    tun_up $kind 4242 || die "$kind up"
    ip -n "$NS_A" -d link show "$(tun_dev "$NS_A")" | sed -n 3p
    pings "$NS_GA" "$IP_GB" || die "$kind ga->gb"
    pings "$NS_GB" "$IP_GA" || die "$kind gb->ga"
    pings "$NS_GC" "$IP_GB" -M "do" -s 1472 || die "$kind full frames"
    tcp_check "$NS_GA" "$NS_GB" "$IP_GB" 32 || die "$kind tcp ga->gb"
    tcp_check "$NS_GB" "$NS_GA" "$IP_GA" 32 || die "$kind tcp gb->ga"
    ip netns exec "$NS_GB" ping -c 150 -i 0.01 -W 0.1 -D -O "$IP_GA" \
        >$T/p.log 2>&1 &
    pp=$!
    sleep 0.5
    t0=$(date +%s.%N)
    tun_move vif-ga "$NS_A" "$NS_B"
    tctl "$NS_B" garp br0 "$MAC_GA" "$IP_GA" >/dev/null || die garp
    wait $pp
    ms=$(awk -v t0=$t0 '/bytes from/ { gsub(/[][]/, "", $1)
        if ($1 + 0 > t0) { printf "%d", ($1 - t0) * 1000; exit } }' $T/p.log)
    [ -n "$ms" ] && [ "$ms" -lt 1000 ] || die "$kind: move: ${ms:-no} answer"
    tun_move vif-ga "$NS_B" "$NS_A"
    tctl "$NS_A" garp br0 "$MAC_GA" "$IP_GA" >/dev/null
    tun_down || die "$kind down"
    echo "VMOK $kind (back $ms ms after a move)"
done
for l in "$NS_A a-r" "$NS_R r-a" "$NS_R r-b" "$NS_B b-r"; do
    set -- $l
    ip -n "$1" link set "$2" mtu 1500
done
tun_up etherip || die "etherip up"
sleep 1.2
pings "$NS_GA" "$IP_GB" -M "do" -s 1472 || die "etherip: outer fragments"
tcp_check "$NS_GA" "$NS_GB" "$IP_GB" 32 || die "etherip: tcp over 1500"
echo "VMOK etherip over an underlay of 1500"
echo VMDONE
EOF

cat >"$W/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
mount -t sysfs sys /sys
mount -t tmpfs tmp /run
mount -t tmpfs tmp /tmp
mkdir -p /run/netns /var
ln -s /run /var/run
while read -r m; do insmod "$m"; done </etc/modules.list
sh /lab/vmtest.sh 2>&1
poweroff -f
EOF

d=$W/root
mkdir -p "$d/bin" "$d/lab" "$d/etc" "$d/mod" "$d/proc" "$d/sys" "$d/run" \
    "$d/tmp" "$d/dev"
cp "$(command -v busybox)" "$d/bin/busybox"
cp "$W/init" "$d/init"
chmod +x "$d/init"
cp "$W/vmtest.sh" "$here/tunnel_lib.sh" "$d/lab/"
: >"$d/etc/modules.list"
for m in veth bridge tun ip_gre vxlan; do
    modprobe -d "$R" -S "$K" --show-depends "$m" |
        awk '$1 == "insmod" { print $2 }' | while read -r ko; do
        rel=/mod/$(basename "$ko")
        cp "$ko" "$d$rel"
        grep -qx "$rel" "$d/etc/modules.list" || echo "$rel" >>"$d/etc/modules.list"
    done
done
copy_elf() {
    cp -L "$1" "$d$2"
    ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
        mkdir -p "$d$(dirname "$lib")"
        cp -L "$lib" "$d$lib"
    done
}
copy_elf "$(command -v ip)" /bin/ip
copy_elf "$(command -v ping)" /bin/ping
copy_elf "$(command -v date)" /bin/date
copy_elf "$BUILD/tunnelctl" /bin/tunnelctl
copy_elf "$W/tcpx" /bin/tcpx
(cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$W/initrd.gz"

timeout 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu qemu64 -m 1024 \
    -smp 1 -nodefaults -display none -no-reboot -serial stdio \
    -kernel "$KERNEL" -initrd "$W/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init" >"$W/vm.log" 2>&1
grep -E '^VM|^ +(vxlan|gretap|tun) ' "$W/vm.log"
grep -q '^VMDONE' "$W/vm.log" && exit 0
tail -n 30 "$W/vm.log"
exit 1
