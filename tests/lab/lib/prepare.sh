#!/bin/bash
# prepare.sh - make everything a lab boot needs, rebuilding only what changed.
#
# Three layers, each cached under $LAB_CACHE:
#   debs/ + root/  Debian's Xen, its tools and a kernel: `apt-get download` and
#                  `dpkg -x`, so nothing is installed on the host and no postinst
#                  runs (the host's /boot, grub and services are never touched).
#   base/          Xen ELF, vmlinuz and the dom0 base initramfs (busybox, the
#                  Xen toolstack, modules, guest kernel). Rebuilt only when its
#                  key (the .debs, the functions that build it and their
#                  lists, busybox) changes.
#   project/       a small cpio appended to the base: lab scripts, scenarios,
#                  the guest workload and the project's binaries from $BUILD.
#                  Rebuilt on every run, so every lab run tests the current tree.
#
# Usage: prepare.sh [host|fetch|base|project|all]   (default all)
# Prints the paths of the boot artefacts as shell assignments on stdout's
# last lines (XEN_ELF= VMLINUZ= INITRD=).
set -euo pipefail

LAB=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$LAB/../.." && pwd)
LAB_CACHE=${LAB_CACHE:-/var/tmp/relocd-lab}
BUILD=${BUILD:-$REPO/build}
XENV=4.17
XL=/usr/lib/xen-$XENV
HOST_PKGS="qemu-system-x86 busybox-static cpio gcc libc6-dev kmod file bc python3 iproute2"
XEN_PKGS="xen-hypervisor-$XENV-amd64 xen-utils-$XENV xen-utils-common xenstore-utils
    libxenmisc$XENV libxentoolcore1 libxentoollog1 libxencall1 libxendevicemodel1
    libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenhypfs1 libxenstore4
    libyajl2 dmsetup libdevmapper1.02.1 thin-provisioning-tools
    qemu-system-xen seabios qemu-system-data
    lvm2 libaio1 libdevmapper-event1.02.1 libedit2 rsync libpopt0 libxxhash0"
# loaded at boot by dom0's /init, in this order (with their dependencies)
DOM0_MODS="xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc xen-blkback
    xen-netback loop virtio_pci virtio_net e1000 bridge tun veth vxlan ip_gre"
# guests' eth0 and disks (copied into the guest initramfs, loaded by
# guest/init)
GUEST_MODS="xen-netfront xen-blkfront"
# present in dom0 but loaded only by scenarios that need them
EXTRA_MODS="dm-mod dm-era dm-mirror dm-snapshot nbd sch_tbf sch_netem"
# kernel TLS and the AEADs it may be given (Debian builds them as modules;
# the crypto API asks for the ciphers at run time, so list them, with the
# x86 ones that a CPU model with the instructions uses): relocd-ktls
EXTRA_MODS="$EXTRA_MODS tls chacha_generic poly1305_generic chacha20poly1305
    ctr ghash-generic gcm chacha-x86_64 poly1305-x86_64 aesni-intel
    ghash-clmulni-intel"

say() { echo "lab: $*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }

apt_updated=
apt_update_once() {
    [ -n "$apt_updated" ] && return 0
    say "apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
    apt_updated=1
}

# host_deps: install the host tools the lab uses, only if one is missing
host_deps() {
    local missing="" p
    for p in $HOST_PKGS; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
            grep -q '^install ok installed' || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing host packages:$missing (run as root)"
    say "installing host packages:$missing"
    apt_update_once
    # shellcheck disable=SC2086 # missing: a package list, split
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends $missing >&2 || die "apt-get install failed"
}

# fetch: download and unpack Xen + kernel into $LAB_CACHE/root, once.
# LAB_REFRESH=1 downloads again (e.g. to pick up a Debian point release).
fetch() {
    local debs=$LAB_CACHE/debs root=$LAB_CACHE/root kpkg kver p get missing=
    if [ -f "$root/.complete" ] && [ -z "${LAB_REFRESH:-}" ]; then
        # a package added to XEN_PKGS since makes the cache incomplete
        for p in $XEN_PKGS; do
            grep -q "^${p}_" "$root/.complete" || missing=1
        done
        [ -z "$missing" ] && return 0
    fi
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    if [ -z "$kpkg" ] || ! apt-cache show "xen-utils-$XENV" >/dev/null 2>&1; then
        apt_update_once
        kpkg=$(apt-cache depends linux-image-amd64 |
            awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    fi
    [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
    kver=${kpkg#linux-image-}
    say "downloading Xen $XENV and $kpkg"
    rm -rf "$debs.new" && mkdir -p "$debs.new"
    # .debs already here are kept, unless LAB_REFRESH asks for them afresh
    get=
    for p in $XEN_PKGS "$kpkg"; do
        if [ -z "${LAB_REFRESH:-}" ] &&
            cp "$debs/${p}_"*.deb "$debs.new/" 2> /dev/null; then
            continue
        fi
        get="$get $p"
    done
    # shellcheck disable=SC2086 # get: a package list, split
    [ -z "$get" ] || (cd "$debs.new" && apt-get download -qq $get 2>&1 |
        grep -v unsandboxed >&2) || true
    for p in $XEN_PKGS "$kpkg"; do
        ls "$debs.new/${p}_"*.deb >/dev/null 2>&1 || die "download of $p failed"
    done
    rm -rf "$debs" && mv "$debs.new" "$debs"
    say "unpacking"
    rm -rf "$root" && mkdir -p "$root"
    for d in "$debs"/*.deb; do dpkg -x "$d" "$root"; done
    depmod -b "$root" "$kver"
    echo "$kver" > "$root/KVER"
    (cd "$debs" && ls -- *.deb) > "$root/.complete"
}

# key FILES...: a hash of the inputs of a layer
key() {
    cat "$@" | sha256sum | cut -c1-16
}

stage_skeleton() {  # DIR: merged-/usr busybox tree
    local d=$1 a
    mkdir -p "$d"/usr/bin "$d"/usr/sbin "$d"/usr/lib/x86_64-linux-gnu \
        "$d"/usr/lib64 "$d"/proc "$d"/sys "$d"/dev "$d"/run "$d"/tmp \
        "$d"/var/log "$d"/var/lib "$d"/etc "$d"/root
    ln -sfn usr/bin "$d/bin"; ln -sfn usr/sbin "$d/sbin"
    ln -sfn usr/lib "$d/lib"; ln -sfn usr/lib64 "$d/lib64"
    ln -sfn ../run "$d/var/run"
    cp /usr/bin/busybox "$d/usr/bin/busybox"
    for a in $(/usr/bin/busybox --list); do
        [ -e "$d/usr/bin/$a" ] || ln -s busybox "$d/usr/bin/$a"
    done
}

# copy_elf ROOTFS SRC DEST: copy an ELF and, via ldd, its shared libraries.
# Libraries resolve from the unpacked Xen root first, then from the host;
# /lib/... lands in /usr/lib/... (merged /usr).
copy_elf() {
    local d=$1 src=$2 dst=$3 lib ldst r=$LAB_CACHE/root
    mkdir -p "$d/$(dirname "$dst")"
    cp -L "$src" "$d/$dst"
    { LD_LIBRARY_PATH=$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu \
        ldd "$src" 2>/dev/null || true; } |
        awk '/=>/{print $3} /^\t\/lib64/{print $1}' |
        while read -r lib; do
            [ -n "$lib" ] && [ -e "$lib" ] || continue
            ldst=${lib#"$r"}
            ldst=/usr${ldst#/usr}
            [ -e "$d$ldst" ] && continue
            # already in the base layer (project layer only)
            [ -n "${BASE_FILES:-}" ] && grep -qxF ".$ldst" "$BASE_FILES" &&
                continue
            mkdir -p "$d$(dirname "$ldst")"
            cp -L "$lib" "$d$ldst"
        done
}

cpio_pack() {  # DIR OUT: newc cpio, gzip -1, padded to 512 bytes so that
    # the next concatenated archive starts aligned
    local tmp=$2.tmp
    (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 |
        gzip -1) > "$tmp"
    truncate -s %512 "$tmp"
    mv "$tmp" "$2"
}

# base_recipe: what the base layer is made by, for its key: the code that
# builds it and the lists it copies, not this whole script, so that a
# change to the project layer's code (a new helper) does not rebuild it
base_recipe() {
    declare -f build_base stage_skeleton copy_elf cpio_pack
    echo "$XENV $XL $DOM0_MODS $EXTRA_MODS"
}

# build_base: Xen ELF, vmlinuz, dom0 base initramfs
build_base() {
    local r=$LAB_CACHE/root out=$LAB_CACHE/base k kver d f m ko rel
    local kind=boot
    kver=$(cat "$r/KVER")
    k=$(key "$r/.complete" <(base_recipe) /usr/bin/busybox)
    [ -f "$out/key" ] && [ "$(cat "$out/key")" = "$k" ] && return 0
    say "building base layer (Xen $XENV, kernel $kver)"
    rm -rf "$out" && mkdir -p "$out"
    d=$LAB_CACHE/work/base-rootfs
    rm -rf "$d" && mkdir -p "$d"
    # QEMU's multiboot loader cannot read xen.gz; it holds a 32-bit ELF
    zcat "$r/boot/xen-$XENV-amd64.gz" > "$out/xen.elf"
    cp "$r/boot/vmlinuz-$kver" "$out/vmlinuz"
    stage_skeleton "$d"
    mkdir -p "$d$XL/bin"
    for f in "$r$XL"/bin/*; do
        case "${f##*/}" in pygrub | xenpvnetboot | xendomains) continue ;; esac
        if file -L "$f" | grep -q ELF; then
            copy_elf "$d" "$f" "$XL/bin/${f##*/}"
        else
            cp -a "$f" "$d$XL/bin/"
        fi
    done
    mkdir -p "$d$XL/lib"
    cp -a "$r$XL"/lib/* "$d$XL/lib/" 2>/dev/null || true
    rm -rf "$d$XL"/lib/python*
    for f in "$r"/usr/bin/xenstore*; do
        if [ -L "$f" ]; then cp -a "$f" "$d/usr/bin/"
        else copy_elf "$d" "$f" "/usr/bin/${f##*/}"; fi
    done
    copy_elf "$d" "$r/sbin/dmsetup" /usr/sbin/dmsetup
    # thin-provisioning-tools: era_invalidate reads dm-era's metadata
    # (block migration's write tracker, relocd/disktrack_era.c)
    copy_elf "$d" "$r/usr/sbin/pdata_tools" /usr/sbin/pdata_tools
    for f in era_invalidate era_dump era_check; do
        ln -sf pdata_tools "$d/usr/sbin/$f"
    done
    # LVM: block migration creates a target's disk as an LV of a named VG
    copy_elf "$d" "$r/sbin/lvm" /usr/sbin/lvm
    for f in lvcreate lvremove lvs lvchange vgs vgcreate vgremove pvcreate \
        pvremove; do
        ln -sf lvm "$d/usr/sbin/$f"
    done
    # rsync: the peer of the storage benchmark (xl save, rsync --sparse,
    # xl restore: what an admin does without relocd)
    copy_elf "$d" "$r/usr/bin/rsync" /usr/bin/rsync
    # HVM guests' firmware and device model: hvmloader, Debian's QEMU for
    # Xen (libxl runs /usr/libexec/xen-qemu-system-i386), SeaBIOS (libxl
    # hands hvmloader bios-256k.bin) and the option ROMs of
    # qemu-system-data that a direct kernel boot and the emulated VGA load
    copy_elf "$d" "$r/usr/libexec/xen-qemu-system-i386" \
        /usr/libexec/xen-qemu-system-i386
    mkdir -p "$d$XL/boot"
    cp "$r$XL/boot/hvmloader" "$d$XL/boot/"
    mkdir -p "$d/usr/share/qemu/keymaps"
    cp -a "$r/usr/share/seabios" "$d/usr/share/"
    for f in linuxboot.bin linuxboot_dma.bin kvmvapic.bin vgabios-stdvga.bin \
        vgabios-cirrus.bin keymaps/en-us; do
        if [ -e "$r/usr/share/qemu/$f" ]; then
            cp -a "$r/usr/share/qemu/$f" "$d/usr/share/qemu/$f"
        fi
    done
    # OpenSSH from the host, for stock `xl migrate` over ssh, and socat, a
    # raw TCP relay that keeps up with the stream (busybox nc moves ~1 MB/s)
    for f in /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen /usr/bin/socat; do
        if [ -x "$f" ]; then copy_elf "$d" "$f" "$f"; fi
    done
    # iproute2 (busybox ip has no netns, vxlan, gretap or bridge fdb); in
    # /usr/sbin, ahead of busybox's /usr/bin/ip in PATH
    # tc: a link slower than a guest's writer (sch_tbf, sch_netem)
    for f in ip bridge tc; do
        copy_elf "$d" "$(command -v $f)" "/usr/sbin/$f"
    done
    # glibc dlopen()s libgcc_s for pthread_cancel (used by libxl); ldd
    # cannot see it, and without it `xl create` aborts
    cp -L /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 \
        "$d/usr/lib/x86_64-linux-gnu/"
    cp -a "$r/etc/xen" "$d/etc/"
    mkdir -p "$d/var/lib/xen" "$d/var/lib/xenstored" "$d/var/log/xen/console"
    # Debian's base users: relocd's sessions drop to nobody (privsep)
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
        'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' \
        > "$d/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$d/etc/group"
    # modules with their dependencies, in load order
    : > "$d/etc/lab-modules"
    : > "$d/etc/lab-modules-extra"
    for m in $DOM0_MODS -- $EXTRA_MODS; do
        [ "$m" = -- ] && { kind=extra; continue; }
        modprobe -d "$r" -S "$kver" --show-depends "$m" |
            awk '$1=="insmod"{print $2}' | while read -r ko; do
                rel=/usr${ko#"$r"}
                grep -qx "$rel" "$d/etc/lab-modules" \
                    "$d/etc/lab-modules-extra" && continue
                mkdir -p "$d$(dirname "$rel")"
                cp "$ko" "$d$rel"
                if [ "$kind" = extra ]; then
                    echo "$rel" >> "$d/etc/lab-modules-extra"
                else
                    echo "$rel" >> "$d/etc/lab-modules"
                fi
            done
    done
    cp "$r/lib/modules/$kver"/modules.builtin* \
        "$r/lib/modules/$kver/modules.order" \
        "$d/usr/lib/modules/$kver/" 2>/dev/null || true
    depmod -b "$d" "$kver" 2>/dev/null || true
    # the guests boot the same Debian kernel (PV and PVH)
    mkdir -p "$d/guest"
    cp "$out/vmlinuz" "$d/guest/vmlinuz"
    cpio_pack "$d" "$out/base.cpio.gz"
    (cd "$d" && find . ! -type d) > "$out/files"
    rm -rf "$d"
    echo "$k" > "$out/key"
}

# build_helpers: static guest workloads (memory, disk, a TCP echo server
# and its client), timestamp helper, the fault-load scenario's connection
# flood, the bench's line stamper and storage-shared's NBD server and
# client (make-like; src/nbdproto.h is the NBD tools' too)
build_helpers() {
    local o=$LAB_CACHE/helpers s
    mkdir -p "$o"
    for s in dirty xts flood diskstamp stamp tcpseq nbdserve nbdlink; do
        if [ ! -x "$o/$s" ] || [ "$LAB/src/$s.c" -nt "$o/$s" ] ||
            { [ "${s#nbd}" != "$s" ] &&
                [ "$LAB/src/nbdproto.h" -nt "$o/$s" ]; }; then
            gcc -std=gnu11 -O2 -Wall -Wextra -static -o "$o/$s.tmp" \
                "$LAB/src/$s.c" && mv "$o/$s.tmp" "$o/$s"
        fi
    done
    # the fault scenarios' LD_PRELOAD shim for xl (dynamic, like xl)
    if [ ! -f "$o/faultshim.so" ] ||
        [ "$LAB/src/faultshim.c" -nt "$o/faultshim.so" ]; then
        gcc -std=gnu11 -O2 -Wall -Wextra -shared -fPIC \
            -o "$o/faultshim.so.tmp" "$LAB/src/faultshim.c" -ldl &&
            mv "$o/faultshim.so.tmp" "$o/faultshim.so"
    fi
}

# project_dir: this run's own project layer, $LAB_CACHE/project/run-PID,
# PID being the lab run's (LAB_RUN_PID): a run that starts later must not
# replace the initramfs an earlier one is still booting.  Layers of runs
# that are gone are removed.
project_dir() {
    local dir pid
    for dir in "$LAB_CACHE"/project/run-*; do
        [ -d "$dir" ] || continue
        pid=${dir##*/run-}
        kill -0 "$pid" 2> /dev/null || rm -rf "$dir"
    done
    rm -f "$LAB_CACHE/project/project.cpio.gz" \
        "$LAB_CACHE/project/dom0-initrd.gz"
    echo "$LAB_CACHE/project/run-${LAB_RUN_PID:-$$}"
}

# build_project: the per-run layer appended to the base initramfs
build_project() {
    local d=$LAB_CACHE/work/project-rootfs g=$LAB_CACHE/work/guest-rootfs
    local h=$LAB_CACHE/helpers p out f
    out=$(project_dir)
    build_helpers
    mkdir -p "$out"
    rm -rf "$d" "$g" && mkdir -p "$d" "$g"
    # guest initramfs: busybox + workload + network driver
    stage_skeleton "$g"
    cp "$h/dirty" "$h/xts" "$h/diskstamp" "$h/tcpseq" "$g/usr/bin/"
    mkdir -p "$g/usr/lib/modules"
    for m in $GUEST_MODS; do
        modprobe -d "$LAB_CACHE/root" -S "$(cat "$LAB_CACHE/root/KVER")" \
            --show-depends "$m" | awk '$1=="insmod"{print $2}' |
            while read -r ko; do cp "$ko" "$g/usr/lib/modules/"; done
    done
    install -m 755 "$LAB/guest/init" "$g/init"
    mkdir -p "$d/guest"
    cpio_pack "$g" "$d/guest/initrd.gz"
    # dom0: lab scripts
    mkdir -p "$d/usr/bin" "$d/usr/sbin" "$d/lab/scenarios" "$d/etc/xen"
    cp "$h/xts" "$d/usr/bin/xts"
    install -m 755 "$LAB/dom0/init" "$d/init"
    install -m 755 "$LAB/dom0/runner" "$d/lab/runner"
    install -m 755 "$LAB/dom0/vif-lab" "$d/lab/vif-lab"
    install -m 755 "$LAB/dom0/block-lab" "$d/lab/block-lab"
    install -m 644 "$h/faultshim.so" "$d/lab/faultshim.so"
    install -m 755 "$h/flood" "$d/lab/flood"
    install -m 755 "$h/stamp" "$d/lab/stamp"
    install -m 755 "$h/tcpseq" "$d/lab/tcpseq"
    install -m 755 "$h/nbdserve" "$d/lab/nbdserve"
    install -m 755 "$h/nbdlink" "$d/lab/nbdlink"
    # helper libraries for scenarios: dom0/NAME.sh -> /lab/NAME.sh
    for f in "$LAB"/dom0/*.sh; do
        install -m 644 "$f" "$d/lab/${f##*/}"
    done
    for f in "$LAB"/scenarios/*; do
        [ -f "$f" ] && install -m 755 "$f" "$d/lab/scenarios/"
    done
    # the project's binaries, whatever exists of them
    export BASE_FILES=$LAB_CACHE/base/files
    for p in relocd xl-relocate tunnelctl eraprobe; do
        if [ -f "$BUILD/$p" ] && file -L "$BUILD/$p" | grep -q ELF; then
            copy_elf "$d" "$BUILD/$p" "/usr/sbin/$p"
            echo "$p" >> "$d/lab/project-files"
        fi
    done
    # the benchmarks' tools (tlsrate in bench-migrate), when built
    if [ -f "$BUILD/bench/relocd-bench" ]; then
        copy_elf "$d" "$BUILD/bench/relocd-bench" /usr/sbin/relocd-bench
        echo relocd-bench >> "$d/lab/project-files"
    fi
    if [ -f "$REPO/xl-plugin/xm" ]; then
        install -m 755 "$REPO/xl-plugin/xm" "$d/usr/sbin/xm"
        echo xm >> "$d/lab/project-files"
    fi
    # ocf:relocd:xen (cluster-*), and what it needs of resource-agents: its
    # shell functions and, for ocf-tester, xmllint and the DTD, taken from
    # the build host when installed there (`make deps` installs
    # resource-agents; the lab's base has no room for a cluster stack)
    if [ -f "$REPO/etc/ocf/xen" ]; then
        install -D -m 755 "$REPO/etc/ocf/xen" \
            "$d/usr/lib/ocf/resource.d/relocd/xen"
        echo ocf/xen >> "$d/lab/project-files"
    fi
    if [ -f /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ]; then
        mkdir -p "$d/usr/lib/ocf/lib"
        cp -r /usr/lib/ocf/lib/heartbeat "$d/usr/lib/ocf/lib/"
        rm -rf "$d/usr/lib/ocf/lib/heartbeat/__pycache__"
        echo ocf-shellfuncs >> "$d/lab/project-files"
        if [ -f /usr/sbin/ocf-tester ] && [ -x /usr/bin/xmllint ] &&
            [ -f /usr/share/resource-agents/ra-api-1.dtd ]; then
            install -m 755 /usr/sbin/ocf-tester "$d/usr/sbin/ocf-tester"
            copy_elf "$d" /usr/bin/xmllint /usr/bin/xmllint
            install -D -m 644 /usr/share/resource-agents/ra-api-1.dtd \
                "$d/usr/share/resource-agents/ra-api-1.dtd"
            echo ocf-tester >> "$d/lab/project-files"
        fi
    fi
    if [ -f "$REPO/etc/init.d/relocd" ]; then
        install -D -m 755 "$REPO/etc/init.d/relocd" "$d/etc/init.d/relocd"
        echo init.d/relocd >> "$d/lab/project-files"
    fi
    if [ -f "$REPO/etc/xend-config.sxp" ]; then
        install -m 644 "$REPO/etc/xend-config.sxp" "$d/etc/xen/"
        echo xend-config.sxp >> "$d/lab/project-files"
    fi
    cpio_pack "$d" "$out/project.cpio.gz"
    cat "$LAB_CACHE/base/base.cpio.gz" "$out/project.cpio.gz" \
        > "$out/dom0-initrd.gz.tmp"
    mv "$out/dom0-initrd.gz.tmp" "$out/dom0-initrd.gz"
    rm -rf "$d" "$g"
}

main() {
    local what=${1:-all}
    mkdir -p "$LAB_CACHE"
    exec 9> "$LAB_CACHE/.lock"
    flock 9        # one lab build at a time per cache
    case $what in
    host) host_deps ;;
    fetch) host_deps; fetch ;;
    base) host_deps; fetch; build_base ;;
    project | all)
        host_deps; fetch; build_base; build_project
        echo "XEN_ELF=$LAB_CACHE/base/xen.elf"
        echo "VMLINUZ=$LAB_CACHE/base/vmlinuz"
        echo "INITRD=$LAB_CACHE/project/run-${LAB_RUN_PID:-$$}/dom0-initrd.gz"
        ;;
    *) die "unknown step $what" ;;
    esac
}

# one line: bash reads scripts as it runs them, and the tree may change
{ main "$@"; exit $?; }
