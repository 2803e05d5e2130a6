#!/usr/bin/env python3
"""rawpeer.py HOST PORT CASE - a hostile or broken relocd client.

Prints what the server answered (the ERROR frame's code and message, or
"closed") so tests can check the typed error.  Cases:
  version     HELLO with versions 7..9
  oversize    a frame header announcing 16 MiB
  flags       a frame with nonzero flags
  truncated   half a frame, then close
  garbage     an HTTP request
  notjson     HELLO whose payload is not JSON
  early       MIGRATE before HELLO
  badflag     HELLO, PREFLIGHT, MIGRATE with flag --colo
  preflights  HELLO, then PREFLIGHT after PREFLIGHT: prints the first
              answer that is not a PREFLIGHT_RESULT, with the count
  silent      connect and say nothing
  slowloris   one byte of a HELLO per second; prints the answer and how
              long after the connect it came
  hello       HELLO, and print the answer
  stall       HELLO, PREFLIGHT, MIGRATE, then silence: prints how long
              the server kept the connection open after ACCEPT
  twice       two connections pre-flight the same guest; the first is
              accepted, then the second sends MIGRATE: prints its answer
  swap        pre-flights raw1 with 64 MiB, then streams a config asking
              for 16 GiB: prints "dropped" when the server closes instead
              of taking the stream
"""
import json, select, socket, struct, sys, time

HELLO = {"proto": "relocd", "version": 1, "min_version": 1,
         "software": "rawpeer", "host": "rawpeer"}
CFG = json.dumps({"c_info": {"type": "pvh", "name": "raw1"},
                  "b_info": {"max_memkb": 65536}})


def frame(t, obj=None, raw=None, flags=0):
    body = raw if raw is not None else json.dumps(obj).encode()
    return struct.pack(">IHH", len(body), t, flags) + body


def answer(s):
    """The next frame's type and JSON, or None when the server closed."""
    data = b""
    try:
        while len(data) < 8:
            chunk = s.recv(8 - len(data))
            if not chunk:
                return None
            data += chunk
        n, t, _ = struct.unpack(">IHH", data)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                return None
            body += chunk
        return t, json.loads(body)
    except (ConnectionResetError, socket.timeout):
        return None


def report(s):
    a = answer(s)
    if a is None:
        print("closed")
    elif a[0] == 2:
        print("ERROR %s: %s" % (a[1]["code"], a[1]["message"]))
    else:
        print("frame %d %s" % a)
    return a


def to_stream(s):
    """HELLO, PREFLIGHT of raw1, MIGRATE: True once the server ACCEPTs."""
    s.sendall(frame(1, HELLO)); answer(s)
    s.sendall(frame(3, {"config": CFG, "live": True})); answer(s)
    s.sendall(frame(5, {"mode": "xl-stream", "flags": []}))
    a = answer(s)
    if a is None or a[0] != 6:
        print("no ACCEPT: %r" % (a,))
        return False
    return True


def stall(s):
    if not to_stream(s):
        return
    t0 = time.time()
    s.settimeout(1.0)
    while time.time() - t0 < 20:
        try:
            if not s.recv(4096):
                print("dropped after %.1f s" % (time.time() - t0))
                return
        except socket.timeout:
            pass
        except OSError:
            print("dropped after %.1f s" % (time.time() - t0))
            return
    print("still open after %.1f s" % (time.time() - t0))


def swap(s):
    if not to_stream(s):
        return
    banner = b""
    while len(banner) < 54:
        chunk = s.recv(54 - len(banner))
        if not chunk:
            print("no banner")
            return
        banner += chunk
    big = json.dumps({"c_info": {"type": "pvh", "name": "raw1"},
                      "b_info": {"max_memkb": 16 << 20}}).encode() + b"\0"
    s.sendall(b"Xen saved domain, xl format\n \0 \r" +
              struct.pack("<IIIII", 0x01020304, 3, 0, 4 + len(big), len(big))
              + big)
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
        print("dropped")
    except OSError:
        print("dropped")


def twice(host, port):
    a, b = (socket.create_connection((host, port), timeout=30)
            for _ in range(2))
    for s in (a, b):
        s.sendall(frame(1, HELLO)); answer(s)
        s.sendall(frame(3, {"config": CFG, "live": True})); answer(s)
    a.sendall(frame(5, {"mode": "xl-stream", "flags": []}))
    first = answer(a)
    if first is None or first[0] != 6:
        print("first not accepted: %r" % (first,))
        return
    b.sendall(frame(5, {"mode": "xl-stream", "flags": []}))
    report(b)


def main():
    host, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    t0 = time.time()
    s = socket.create_connection((host, port), timeout=30)
    if case == "version":
        h = dict(HELLO, version=9, min_version=7)
        s.sendall(frame(1, h))
    elif case == "oversize":
        s.sendall(struct.pack(">IHH", 16 << 20, 1, 0))
    elif case == "flags":
        s.sendall(frame(1, HELLO, flags=1))
    elif case == "truncated":
        s.sendall(frame(1, HELLO)[:20])
        s.shutdown(socket.SHUT_WR)
    elif case == "garbage":
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    elif case == "notjson":
        s.sendall(frame(1, raw=b"{\"proto\": relocd"))
    elif case == "early":
        s.sendall(frame(5, {"mode": "xl-stream", "flags": []}))
    elif case == "badflag":
        s.sendall(frame(1, HELLO)); report(s)
        s.sendall(frame(3, {"config": CFG, "live": True})); report(s)
        s.sendall(frame(5, {"mode": "xl-stream", "flags": ["--colo"]}))
    elif case == "preflights":
        s.sendall(frame(1, HELLO)); answer(s)
        for n in range(1, 20):
            s.sendall(frame(3, {"config": CFG, "live": True}))
            a = answer(s)
            if a is None or a[0] != 4:
                print("after %d: " % n, end="")
                if a is None:
                    print("closed")
                else:
                    print("ERROR %s: %s" % (a[1]["code"], a[1]["message"]))
                return
        print("19 answered")
        return
    elif case == "silent":
        pass
    elif case == "hello":
        s.sendall(frame(1, HELLO))
        if report(s) is not None:
            print("answered after %.3f s" % (time.time() - t0))
        return
    elif case == "stall":
        stall(s)
        return
    elif case == "swap":
        swap(s)
        return
    elif case == "twice":
        s.close()
        twice(host, port)
        return
    elif case == "slowloris":
        for b in frame(1, HELLO):
            try:
                s.sendall(bytes([b]))
            except OSError:
                break
            # One byte a second, until the server says something.
            if select.select([s], [], [], 1.0)[0]:
                break
        report(s)
        print("after %.1f s" % (time.time() - t0))
        return
    report(s)


main()
