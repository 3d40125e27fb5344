#!/usr/bin/env python3
"""TCP new-connection load for bench/connection-rate.ts.

  serve PORT
      Accept and close, as fast as the kernel hands connections over (run inside the server pod's namespace).
  alternate SECONDS PORT NETNS=DST NETNS=DST...
      One client for several sides: connect from each NETNS to its DST in turns of BLOCK connections, round robin
      (A B C A B C ...), until SECONDS have passed; print one JSON line with each side's figures. Taking turns every
      few milliseconds, the sides see the same machine: whatever else runs on it slows them alike.

Connections are made one after another. One counts when its handshake completes (the server's SYN-ACK is back),
so its latency is the path of the SYN through every hook and chain on the way, the only packet of a connection
that reaches a pod chain. The client closes with SO_LINGER 0 (an RST): no TIME_WAIT to run out of ephemeral
ports, and conntrack entries that end in CLOSE (10 s) instead of TIME_WAIT (120 s), so the table never fills.
A socket belongs to the namespace it was created in: the client enters a side's namespace with setns(2) once a
turn and creates that turn's sockets there.
"""
import ctypes
import errno
import json
import math
import os
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
BLOCK = 50
# A handshake that takes this long lost its SYN (a drop): counted as a failure, never as a latency.
CONNECT_TIMEOUT_S = 1.0
LINGER_RESET = struct.pack("ii", 1, 0)
NS_PER_S = 1_000_000_000

libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def serve(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(4096)
    print("listening", flush=True)
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            continue
        connection.close()


class Side:
    def __init__(self, netns, dst):
        self.netns = netns
        self.dst = dst
        self.fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        self.latencies_ns = []
        self.busy_ns = 0
        self.failures = {}

    def turn(self, port, count):
        enter_netns(self.fd)
        begun = time.perf_counter_ns()
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            sock.settimeout(CONNECT_TIMEOUT_S)
            start = time.perf_counter_ns()
            try:
                sock.connect((self.dst, port))
                self.latencies_ns.append(time.perf_counter_ns() - start)
            except socket.timeout:
                self.fail("timeout")
            except OSError as error:
                self.fail(errno.errorcode.get(error.errno, str(error.errno)))
            finally:
                sock.close()
        self.busy_ns += time.perf_counter_ns() - begun

    def fail(self, reason):
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def figures(self):
        latencies = sorted(self.latencies_ns)

        def percentile(p):
            if not latencies:
                return None
            return latencies[max(1, math.ceil(p * len(latencies))) - 1] / 1000

        seconds = self.busy_ns / NS_PER_S
        return {
            "netns": self.netns,
            "dst": self.dst,
            "connections": len(latencies),
            "seconds": seconds,
            "perSecond": len(latencies) / seconds if seconds > 0 else 0,
            "p50Us": percentile(0.50),
            "p99Us": percentile(0.99),
            "failures": self.failures,
        }


def alternate(seconds, port, targets):
    sides = [Side(*target.split("=", 1)) for target in targets]
    deadline = time.perf_counter_ns() + int(seconds * NS_PER_S)
    # Round robin: every turn follows another side's turn. (ABBA would give some sides a turn after their own,
    # with warm caches, and with three sides not all of them alike: measured, 2-3 % in an A/A run.)
    order = sides
    turns = 0
    while time.perf_counter_ns() < deadline:
        for side in order:
            side.turn(port, BLOCK)
        turns += 1
    print(json.dumps({"turnsPerSide": turns, "block": BLOCK, "sides": [side.figures() for side in sides]}), flush=True)


def main(argv):
    if len(argv) == 2 and argv[0] == "serve":
        serve(int(argv[1]))
    elif len(argv) >= 4 and argv[0] == "alternate":
        alternate(float(argv[1]), int(argv[2]), argv[3:])
    else:
        sys.exit("usage: connect-load.py serve PORT | alternate SECONDS PORT NETNS=DST NETNS=DST...")


if __name__ == "__main__":
    main(sys.argv[1:])
