#!/usr/bin/env python3
"""fake_xl.py - both ends of xl's migration protocol, without Xen.

  fake_xl.py receive [FLAGS]      plays `xl migrate-receive` on stdin/stdout:
                                  parses and checks the whole stream
  fake_xl.py send [opts] CMD HOST plays `xl migrate -s CMD DOM HOST`: runs
                                  sh -c "exec CMD HOST xl migrate-receive"
                                  and sends a synthetic stream through it

  fake_xl.py xl SUBCOMMAND ...     plays the xl an admin or a cluster agent
                                  runs (install it as "xl": a script that
                                  execs "fake_xl.py xl \"$@\""): list [-l]
                                  [NAME], create, shutdown, destroy, info,
                                  mem-set; see xl_main()

The framing is the one stock xl 4.17 uses (tools/xl/xl_migrate.c,
docs/specs/libxl-migration-stream.pandoc, libxc-migration-stream.pandoc).
Environment for `receive`: FAKE_XL_LOG (append a result line there),
FAKE_XL_DIR (file NAME there while the guest's copy runs here: what the Xen
double tells relocd; NAME.fail there sets FAKE_XL_FAIL for one guest),
FAKE_XL_RESTORE_MS and FAKE_XL_START_MS (how long the restore before
"ready" and the start after "go" take; xl's stderr messages mark both),
FAKE_XL_FAIL=ready|result|report: the failures of xl 4.17's
migrate_receive() (tools/xl/xl_migrate.c), with its exit statuses:
  ready   domain creation fails: exit 1, no "ready"
  result  the unpause fails: report failure, destroy the copy, give the
          guest back ("go" to the sender), exit 0
  report  the guest started, then writing the report fails: exit 1
  hold    the stream came whole, then nothing for 30 s before "ready"
          (the sender waits with the guest suspended)
  holdgo  "go" came and the guest started, then nothing for 30 s before
          the report (the sender waits after the hand-over)
"""
import hashlib, json, os, struct, subprocess, sys, time

BANNER = b"xl migration receiver ready, send binary domain data.\n"
MAGIC = b"Xen saved domain, xl format\n \0 \r"
READY = b"domain received, ready to unpause\0"
GO = b"domain is yours, you are cleared to unpause\0"
RESULT = b"my copy unpause results are as follows\0"
LIBXL_IDENT = 0x4C6962786C466D74


def read_exact(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            raise EOFError("stream ended after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def record(f):
    rtype, length = struct.unpack("<II", read_exact(f, 8))
    body = read_exact(f, length)
    read_exact(f, (8 - length % 8) % 8)
    return rtype, body


def say(text):
    """xl 4.17's own messages on stderr, which relocd stamps (anatomy)."""
    print("migration target: " + text, file=sys.stderr, flush=True)


def pause_ms(var):
    ms = int(os.environ.get(var, "0") or 0)
    if ms:
        time.sleep(ms / 1000.0)


def attach_disks(cfg, log):
    """libxl attaches the disks after the stream's END: a missing one fails
    the domain's creation (xl_migrate.c: exit 1, the sender resumes).  The
    bytes each disk holds then go to the log (sha256), for the tests."""
    for d in cfg.get("disks", []):
        path = d.get("pdev_path", "")
        if not os.path.isfile(path):
            say("libxl: error: disk %s: %s does not exist" % (d.get("vdev"), path))
            say("migration target: Domain creation failed (code -3).")
            sys.exit(1)
        if log:
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            with open(log, "a") as f:
                f.write("attached %s %s sha256=%s\n"
                        % (d.get("vdev"), path, h.hexdigest()))


def receive(flags):
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    log = os.environ.get("FAKE_XL_LOG")
    fail = os.environ.get("FAKE_XL_FAIL", "")
    say("Ready to receive domain.")
    out.write(BANNER); out.flush()
    hdr = read_exact(inp, 48)
    assert hdr[:32] == MAGIC, "bad xl magic"
    order, mand, opt, optlen = struct.unpack("<IIII", hdr[32:])
    assert order == 0x01020304 and mand == 3, "bad xl header"
    optdata = read_exact(inp, optlen)
    jlen = struct.unpack("<I", optdata[:4])[0]
    cfg = json.loads(optdata[4:4 + jlen - 1])
    name = cfg["c_info"]["name"]
    ident, version, options = struct.unpack(">QII", read_exact(inp, 16))
    assert ident == LIBXL_IDENT and version == 2, "bad libxl stream header"
    nbytes, nrec = 0, 0
    while True:
        rtype, body = record(inp)
        if rtype == 0:
            break
        if rtype == 1:                      # LIBXC_CONTEXT: libxc's stream
            marker, xid, xver, xopt = struct.unpack(">QIIH", read_exact(inp, 18))
            read_exact(inp, 6 + 12)         # reserved, domain header
            assert marker == 0xFFFFFFFFFFFFFFFF and xid == 0x58454E46
            while True:
                t, b = record(inp)
                nrec += 1
                nbytes += len(b)
                if t == 0:
                    break
    attach_disks(cfg, log)
    fail = guest_fail(name, fail)
    if fail == "ready":
        sys.exit(1)
    if fail == "hold":
        time.sleep(30)
    pause_ms("FAKE_XL_RESTORE_MS")      # libxl restoring, devices attaching
    say("Transfer complete, requesting permission to start domain.")
    out.write(READY); out.flush()
    try:
        go = read_exact(inp, len(GO)) == GO
    except EOFError:
        go = False
    if go:
        say("Got permission, starting domain.")
    if go and fail != "result":
        pause_ms("FAKE_XL_START_MS")    # rename and unpause
        mark_running(name, True)
        if log:
            with open(log, "a") as f:
                f.write("received %s records=%d bytes=%d flags=%s\n"
                        % (name, nrec, nbytes, " ".join(flags)))
        if fail == "report":
            sys.exit(1)
        say("Domain started successsfully.")   # sic, xl 4.17
        if fail == "holdgo":
            time.sleep(30)
        out.write(RESULT + b"\0"); out.flush()
        sys.exit(0)
    # xl: report the failure (-rc), destroy our copy, give the guest back;
    # exit 1 only when a write fails.
    try:
        # -rc: ERROR_FAIL (-3) for a failed unpause, 1 for a missing "go"
        out.write(RESULT + (b"\3" if go else b"\xff")); out.flush()
        mark_running(name, False)
        out.write(GO); out.flush()
    except OSError:
        sys.exit(1)
    sys.exit(0)


def guest_fail(name, default):
    """FAKE_XL_DIR/NAME.fail, if there, sets the failure for one guest."""
    d = os.environ.get("FAKE_XL_DIR")
    try:
        with open(os.path.join(d, name + ".fail")) as f:
            return f.read().strip()
    except (TypeError, OSError):
        return default


def mark_running(name, running):
    d = os.environ.get("FAKE_XL_DIR")
    if not d:
        return
    path = os.path.join(d, name)
    if running:
        # A new file, so a new inode: xen_fake.c reads it as the domid,
        # and a received copy is a new domain, never the one there before.
        tmp = "%s.%d" % (path, os.getpid())
        open(tmp, "w").close()
        os.rename(tmp, path)
    elif os.path.exists(path):
        os.unlink(path)


def send(argv):
    mib, name, gtype, mem, slow, stall = 4, "g1", "pvh", 192, 0.0, 0.0
    extra = {}
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--mib": mib = int(argv.pop(0))
        elif opt == "--name": name = argv.pop(0)
        elif opt == "--type": gtype = argv.pop(0)
        elif opt == "--mem": mem = int(argv.pop(0))
        elif opt == "--slow": slow = float(argv.pop(0))
        elif opt == "--stall": stall = float(argv.pop(0))
        elif opt == "--cfg": extra = json.loads(argv.pop(0))
    cmd, host = argv[0], argv[1]
    rune = "exec %s %s xl migrate-receive" % (cmd, host)
    p = subprocess.Popen(["sh", "-c", rune], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    w, r = p.stdin, p.stdout
    try:
        if read_exact(r, len(BANNER)) != BANNER:
            raise EOFError("bad banner")
        dom = {"c_info": {"type": gtype, "name": name},
               "b_info": {"max_memkb": mem * 1024}}
        for k, v in extra.items():  # --cfg JSON: more of libxl's config
            if isinstance(v, dict):
                dom.setdefault(k, {}).update(v)
            else:
                dom[k] = v
        cfg = json.dumps(dom).encode() + b"\0"
        w.write(MAGIC + struct.pack("<IIII", 0x01020304, 3, 0, 4 + len(cfg)))
        w.write(struct.pack("<I", len(cfg)) + cfg)
        w.write(struct.pack(">QII", LIBXL_IDENT, 2, 0))
        w.write(struct.pack("<II", 1, 0))
        w.write(struct.pack(">QIIH", 0xFFFFFFFFFFFFFFFF, 0x58454E46, 3, 0) + b"\0" * 6)
        w.write(struct.pack("<IHHHH", 3, 12, 0, 4, 17))
        page = b"\xa5" * (1 << 20)
        for _ in range(mib):
            w.write(struct.pack("<II", 1, len(page)) + page)
            if slow:
                w.flush(); time.sleep(slow)
        w.write(struct.pack("<II", 0, 0))   # libxc END
        w.write(struct.pack("<II", 0, 0))   # libxl END
        w.flush()
        if read_exact(r, len(READY)) != READY:
            raise EOFError("no ready")
        time.sleep(stall)                   # the target holds the guest
        w.write(GO); w.flush()
        if read_exact(r, len(RESULT)) != RESULT:
            raise EOFError("no result")
        status = read_exact(r, 1)[0]
    except (EOFError, BrokenPipeError) as e:
        print("fake-xl: migration failed, resuming at sender: %s" % e,
              file=sys.stderr)
        p.kill(); p.wait()
        sys.exit(1)
    w.close(); p.wait()
    if status:
        print("fake-xl: target could not unpause", file=sys.stderr)
        sys.exit(1)
    print("fake-xl: migration successful", file=sys.stderr)


def read_text(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except (TypeError, OSError):
        return default


def xl_domains():
    """name -> MiB of the guests this fake host runs, in xl's eyes:
    relocd-fake's own (RELOCD_FAKE_DOMAINS, each as its state file in
    RELOCD_FAKE_STATE says: gone when destroyed, under its new name when
    renamed), and the ones received or created here (files in
    FAKE_XL_DIR; a name with a dot is fake_xl's bookkeeping)."""
    doms = {}
    sdir = os.environ.get("RELOCD_FAKE_STATE") or "/nonexistent"
    dflt = os.environ.get("RELOCD_FAKE_GUEST_MB", "64")
    for name in os.environ.get("RELOCD_FAKE_DOMAINS", "").split():
        state = read_text(os.path.join(sdir, name), "running")
        if state == "destroyed":
            continue
        shown = state[8:] if state.startswith("renamed:") else name
        doms[shown] = int(read_text(os.path.join(sdir, name + ".mb"), dflt))
    xdir = os.environ.get("FAKE_XL_DIR")
    for name in sorted(os.listdir(xdir)) if xdir else []:
        if "." not in name:
            doms[name] = int(read_text(os.path.join(xdir, name)) or dflt)
    return doms


def xl_domid(name):
    h = 5381
    for c in name.encode():
        h = (h * 33 + c) & 0xffffffff
    return 1 + h % 30000


def xl_list(args):
    """xl list [-l|--long] [NAME...]: xl 4.17's table, or its JSON."""
    long_ = bool(args) and args[0] in ("-l", "--long")
    names = args[1:] if long_ else args
    doms = xl_domains()
    for n in names:
        if n not in doms:
            print("%s is an invalid domain identifier (rc=-6)" % n,
                  file=sys.stderr)
            sys.exit(1)
    shown = names or sorted(doms)
    if long_:
        out = [] if names else [{"domid": 0, "config": {
            "c_info": {"type": "pv", "name": "Domain-0"}, "b_info": {}}}]
        for n in shown:
            out.append({"domid": xl_domid(n), "config": {
                "c_info": {"type": "pvh", "name": n},
                "b_info": {"max_memkb": doms[n] * 1024}}})
        print(json.dumps(out, indent=4))
        return
    print("Name                                        ID   Mem VCPUs"
          "\tState\tTime(s)")
    if not names:
        print("%-40s %5d %5d %5d     r-----       1.0" % ("Domain-0", 0, 1024, 2))
    for n in shown:
        print("%-40s %5d %5d %5d     -b----       0.1"
              % (n, xl_domid(n), doms[n], 1))


def xl_gone(name):
    """Shuts down or destroys name: fake_xl's file, or relocd-fake's state."""
    xdir = os.environ.get("FAKE_XL_DIR")
    if name not in xl_domains():
        print("%s is an invalid domain identifier (rc=-6)" % name,
              file=sys.stderr)
        sys.exit(1)
    if xdir and os.path.exists(os.path.join(xdir, name)):
        os.unlink(os.path.join(xdir, name))
        return
    sdir = os.environ.get("RELOCD_FAKE_STATE")
    if sdir:
        with open(os.path.join(sdir, name), "w") as f:
            f.write("destroyed\n")


def xl_create(args):
    """xl create FILE [name="X"]: runs it here (FAKE_XL_DIR/NAME)."""
    cfg = read_text(args[0], None) if args else None
    if cfg is None:
        print("Failed to read config file %s" % (args[:1] or "?"),
              file=sys.stderr)
        sys.exit(1)
    kv = dict(line.split("=", 1) for line in cfg.splitlines()
              if "=" in line and not line.lstrip().startswith("#"))
    kv.update(a.split("=", 1) for a in args[1:] if "=" in a)
    kv = {k.strip(): v.strip().strip("\"'") for k, v in kv.items()}
    name, mem = kv.get("name", ""), kv.get("memory", "64")
    if not name or name in xl_domains():
        print("domain %r exists or has no name" % name, file=sys.stderr)
        sys.exit(3)
    with open(os.path.join(os.environ["FAKE_XL_DIR"], name), "w") as f:
        f.write(mem + "\n")


def xl_main(args):
    """xl's subcommands a cluster agent or xl-relocate evacuate uses.
    Each call is logged to FAKE_XL_CALLS, when set."""
    log = os.environ.get("FAKE_XL_CALLS")
    if log:
        with open(log, "a") as f:
            f.write("xl %s\n" % " ".join(args))
    sub, rest = (args[0], args[1:]) if args else ("help", [])
    if sub == "list":
        xl_list(rest)
    elif sub == "create":
        xl_create(rest)
    elif sub in ("shutdown", "destroy", "trigger"):
        if rest and rest[0] == "-w":
            rest = rest[1:]
        xl_gone(rest[0] if rest else "")
    elif sub == "info":
        print("host                   : fake\ntotal_memory           : 8192\n"
              "free_memory            : 4096")
    elif sub == "mem-set":
        pass
    else:
        # stock xl migrate, among others: relocd's agent must not use it
        print("fake xl: '%s' is not faked" % sub, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "xl":
        xl_main(sys.argv[2:])
        sys.exit(0)
    elif len(sys.argv) > 1 and sys.argv[1] == "receive":
        try:
            receive(sys.argv[2:])
        except (EOFError, AssertionError) as e:
            print("fake-xl receive: %s" % e, file=sys.stderr)
            sys.exit(1)
    elif len(sys.argv) > 2 and sys.argv[1] == "send":
        send(sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
