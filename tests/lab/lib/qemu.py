"""qemu.py - one lab host is one QEMU: its command line (with Xen's and
dom0's), the network that joins the two hosts of a pair, and the QEMU
processes themselves, started so that none outlives the lab."""

import ctypes
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time

# Measured on the 2-core dev machine: one vCPU per QEMU (and dom0) avoids
# the emulated-SVM triple fault (tests/lab/README.md, "Flakiness").
QEMU = "qemu-system-x86_64"
SMP = int(os.environ.get("LAB_SMP", "1"))
MEM = int(os.environ.get("LAB_MEM", "1536"))
DOM0_MEM = os.environ.get("LAB_DOM0_MEM", "768M")
# +npt gives Xen HAP (PVH and HVM guests).  qemu64 has no AES-NI, which
# every x86 server has: a bench of TLS rates adds it (bench/storage.sh).
CPU = os.environ.get("LAB_CPU", "qemu64,+npt")
XEN_ARGS = ("dom0_mem={m},max:{m} dom0_max_vcpus={c} console=com1 "
            "com1=115200,8n1 loglvl=all guest_loglvl=all conring_size=1M "
            "{extra}").format(m=DOM0_MEM, c=SMP,
                              extra=os.environ.get("LAB_XEN_EXTRA", ""))
DOM0_ARGS = "console=hvc0 earlyprintk=xen loglevel=4"

# The lab links: topology -> (dom0 cmdline of host a, of host b)
TOPOLOGIES = {
    "local": None,
    "link": ("lab.ip=169.254.77.1/24 lab.peer=169.254.77.2 lab.mtu=65000",
             "lab.ip=169.254.77.2/24 lab.peer=169.254.77.1 lab.mtu=65000"),
    "routed": ("lab.ip=10.1.0.2/24 lab.gw=10.1.0.1 lab.peer=10.2.0.2 "
               "lab.mtu=65000",
               "lab.ip=10.2.0.2/24 lab.gw=10.2.0.1 lab.peer=10.1.0.2 "
               "lab.mtu=65000"),
}

PR_SET_PDEATHSIG = 1
try:
    # loaded here, not in the forked child, where an import could block
    # on a lock another thread of the lab held at the fork
    LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    LIBC = None


# ---- command line -----------------------------------------------------------

def dom0_cmdline(mode, plan, host, hosts, topology, settings, reboot):
    """dom0's kernel command line: what dom0/init and dom0/runner read
    (lab.mode, lab.plan: the scenarios in order, the host's place in the
    topology, --set values, lab.reboot on a boot's re-run)."""
    parts = [DOM0_ARGS, "lab.mode=" + mode, "lab.plan=" + ":".join(plan),
             "lab.host=" + host, "lab.hosts=%d" % hosts]
    topo = TOPOLOGIES[topology]
    if topo:
        parts.append(topo[0 if host == "a" else 1])
    for kv in settings:
        parts.append("lab.set." + kv)
    if reboot:
        parts.append("lab.reboot=1")
    return " ".join(parts)


def qemu_argv(images, dom0, net, serial="stdio"):
    """QEMU booting Xen with dom0's kernel (command line dom0) and the
    initramfs as multiboot modules; net: the network options."""
    dom0 = dom0.replace(",", ",,")      # QEMU's -initrd list separator
    argv = [QEMU, "-accel", "tcg,thread=multi", "-cpu", CPU,
            "-m", str(MEM), "-smp", str(SMP), "-nodefaults",
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", serial,
            "-kernel", images["XEN_ELF"], "-append", XEN_ARGS,
            "-initrd", "%s %s,%s" % (images["VMLINUZ"], dom0,
                                      images["INITRD"])]
    argv += net
    argv += shlex.split(os.environ.get("LAB_QEMU_EXTRA", ""))
    return argv


# ---- network ----------------------------------------------------------------

class Network:
    """The network of one boot's hosts (see TOPOLOGIES): a socket netdev
    over loopback for `link`, a router namespace with two taps for
    `routed`, nothing for one host."""

    def __init__(self, boot_id, hosts, topology):
        self.boot_id = boot_id
        self.hosts = hosts
        self.topology = topology
        self.netns = None

    def setup(self):
        """QEMU network options per host, and a prefix to run QEMU with:
        {host: (options, prefix)}."""
        if self.hosts == 1:
            return {"a": ([], [])}
        mac = "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:0%d"
        if self.topology == "link":
            port = free_port()
            return {
                "b": (["-netdev", "socket,id=n0,listen=127.0.0.1:%d" % port,
                       "-device", mac % 2], []),
                "a": (["-netdev", "socket,id=n0,connect=127.0.0.1:%d" % port,
                       "-device", mac % 1], []),
            }
        pre = self.make_router()
        tap = "tap,id=n0,ifname=%s,script=no,downscript=no"
        return {
            "b": (["-netdev", tap % "ltb", "-device", mac % 2], pre),
            "a": (["-netdev", tap % "lta", "-device", mac % 1], pre),
        }

    def make_router(self):
        """routed: both QEMUs in a namespace that is the router between
        10.1.0.0/24 (tap lta, host a) and 10.2.0.0/24 (tap ltb, host b).
        Returns the prefix that runs a command in it."""
        self.netns = "relocd-lab-%d-%s" % (os.getpid(), self.boot_id)
        ns = self.netns
        sh = ["ip netns add %s" % ns,
              "ip -n %s link set lo up" % ns,
              "ip netns exec %s sysctl -qw net.ipv4.ip_forward=1" % ns]
        for t, net in (("lta", "10.1.0.1/24"), ("ltb", "10.2.0.1/24")):
            sh += ["ip -n %s tuntap add dev %s mode tap" % (ns, t),
                   "ip -n %s link set %s mtu 65000 up" % (ns, t),
                   "ip -n %s addr add %s dev %s" % (ns, net, t)]
        for c in sh:
            subprocess.run(c.split(), check=True)
        return ["ip", "netns", "exec", ns]

    def cleanup(self):
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns],
                           stderr=subprocess.DEVNULL)
            self.netns = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listen(net):
    """Wait until the QEMU of host b listens on its socket netdev (a probe
    connection would be taken for the peer, so read /proc/net/tcp)."""
    m = [re.search(r"listen=127.0.0.1:(\d+)", a) for a in net]
    m = [x for x in m if x]
    if not m:
        time.sleep(1)
        return
    port = "%04X" % int(m[0].group(1))
    for _ in range(100):
        with open("/proc/net/tcp") as f:
            if any(l.split()[1].endswith(":" + port) and l.split()[3] == "0A"
                   for l in f.readlines()[1:]):
                return
        time.sleep(0.1)


# ---- processes --------------------------------------------------------------

class Processes:
    """Every QEMU the lab runs, so that an interrupt can kill them all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = set()

    def start(self, argv):
        """QEMU with its serial line on stdin/stdout (stdin: Xen's
        debug keys, see watchdog.py), stderr mixed into stdout."""
        q = subprocess.Popen(argv, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT,
                             preexec_fn=die_with_parent)
        with self.lock:
            self.running.add(q)
        return q

    def kill(self, q):
        if q.poll() is None:
            try:
                q.kill()
            except OSError:
                pass
        try:
            q.wait(10)
        except subprocess.TimeoutExpired:
            pass
        with self.lock:
            self.running.discard(q)

    def kill_all(self):
        with self.lock:
            for q in list(self.running):
                try:
                    q.kill()
                except OSError:
                    pass


def die_with_parent():
    """In the child: SIGKILL when the lab runner dies, however it dies."""
    if LIBC is not None:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()
