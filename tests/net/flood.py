#!/usr/bin/env python3
"""flood.py HOST PORT SECONDS IDLE SRC[,SRC...] [TRICKLE-SRC] - load.

Keeps IDLE connections to HOST:PORT open for SECONDS, bound round-robin to
the SRC addresses (a connection the server closes is opened again), and,
with TRICKLE-SRC, opens a bogus connection from there every 50 ms: garbage
bytes or an instant close, alternately.  Talks only to HOST:PORT.  Prints
how many connections it opened and how many the server closed.
"""
import errno, select, socket, sys, time


def opener(host, port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((src, 0))
    r = s.connect_ex((host, port))
    if r not in (0, errno.EINPROGRESS):
        s.close()
        return None
    return s


def main():
    host, port, secs, idle = sys.argv[1], int(sys.argv[2]), \
        float(sys.argv[3]), int(sys.argv[4])
    srcs = sys.argv[5].split(",")
    trickle = sys.argv[6] if len(sys.argv) > 6 else None
    conns, opened, closed, bogus, n = [], 0, 0, 0, 0
    end, next_bogus = time.time() + secs, 0.0
    while time.time() < end:
        while len(conns) < idle:
            s = opener(host, port, srcs[n % len(srcs)])
            n += 1
            if s is None:
                break
            conns.append(s)
            opened += 1
        now = time.time()
        if trickle and now >= next_bogus:
            next_bogus = now + 0.05
            b = opener(host, port, trickle)
            if b is not None:
                if bogus % 2:
                    try:
                        select.select([], [b], [], 0.2)
                        b.send(b"\xff\xfe garbage \r\n" * 4)
                    except OSError:
                        pass
                b.close()
                bogus += 1
        r, _, _ = select.select(conns, [], [], 0.05)
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                conns.remove(s)
                s.close()
                closed += 1
    print("opened %d closed-by-server %d bogus %d" % (opened, closed, bogus))


main()
