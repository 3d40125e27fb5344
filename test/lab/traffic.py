"""The lab's traffic engine: every server and every probe of one lab, in one process.

A socket belongs to the network namespace it was created in, whatever the creating process does next. So this
process enters a lab namespace with setns(2) only around socket(), returns home at once, and runs the sockets of
all namespaces in one asyncio loop: a server costs two file descriptors, a probe costs one socket and no process.

Protocol: one JSON request a line on stdin, one JSON answer a line on stdout, matched by "id".
  {"id", "op": "serve", "netns", "proto", "port", "label"}          -> null
  {"id", "op": "unserve", "netns", "proto", "port"}                 -> null
  {"id", "op": "peers", "netns", "proto", "port"}                   -> [source addresses seen, oldest first]
  {"id", "op": "probe", "netns", "proto", "dst", "port", "timeoutMs", "source"?}
                                                                    -> "connected" | "refused" | "timeout"
  {"id", "op": "forget", "netns"}                                   -> null (closes everything in that netns)
  {"id", "op": "linger"}                                            -> null (keep serving after stdin closes)
Answers: {"id", "ok": true, "value"} or {"id", "ok": false, "error"}.

SCTP: the kernel has no SCTP sockets, so SCTP is spoken over raw IP sockets of protocol 132, far enough for
conntrack to see a connection start: a probe sends an INIT and waits for the INIT-ACK; a server answers an INIT to
its port with an INIT-ACK carrying the right verification tag, and an INIT to any other port with an ABORT, as an
SCTP stack does. Both carry a valid CRC32c, which conntrack verifies.
"""

import asyncio
import ctypes
import errno
import ipaddress
import json
import os
import random
import resource
import socket
import struct
import sys
from contextlib import contextmanager

CLONE_NEWNET = 0x40000000
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
IPPROTO_SCTP = 132
PEERS_KEPT = 1000

# An answer that says no: TCP RST or ICMP port unreachable (ECONNREFUSED), any other ICMP unreachable.
REFUSING_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENOPROTOOPT, errno.EPROTO}
# The packet never left: a local nftables drop makes send() fail with EPERM. Nobody answered.
SILENT_ERRNOS = {errno.EPERM}

libc = ctypes.CDLL(None, use_errno=True)
HOME_NETNS = os.open("/proc/self/ns/net", os.O_RDONLY)


def enter_netns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@contextmanager
def inside(netns):
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        enter_netns(fd)
        try:
            yield
        finally:
            enter_netns(HOME_NETNS)
    finally:
        os.close(fd)


def family_of(address):
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def plain_address(address):
    """An IPv4 peer seen on an IPv6 socket would read ::ffff:a.b.c.d; every socket here is single-family."""
    return str(ipaddress.ip_address(address.split("%")[0]))


# ---------------------------------------------------------------------------------------------------- CRC32c

def crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC32C_TABLE = crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------------- SCTP packets

SCTP_INIT, SCTP_INIT_ACK, SCTP_ABORT = 1, 2, 6
STATE_COOKIE_PARAM = 7


def sctp_packet(src_port, dst_port, vtag, chunk):
    packet = bytearray(struct.pack("!HHII", src_port, dst_port, vtag, 0) + chunk)
    # RFC 4960 appendix B: the CRC32c goes on the wire least significant byte first.
    packet[8:12] = struct.pack("<I", crc32c(packet))
    return bytes(packet)


def random_tag():
    return random.randint(1, 0xFFFFFFFF)


def init_chunk(initiate_tag):
    return struct.pack("!BBHIIHHI", SCTP_INIT, 0, 20, initiate_tag, 65536, 10, 10, random_tag())


def init_ack_chunk(initiate_tag):
    cookie = struct.pack("!HH", STATE_COOKIE_PARAM, 12) + os.urandom(8)
    fixed = struct.pack("!IIHHI", initiate_tag, 65536, 10, 10, random_tag())
    return struct.pack("!BBH", SCTP_INIT_ACK, 0, 4 + len(fixed) + len(cookie)) + fixed + cookie


def abort_chunk():
    return struct.pack("!BBH", SCTP_ABORT, 0, 4)


def pktinfo(family, source):
    """Ancillary data that makes the kernel send from `source`, as a server must answer from the address asked."""
    packed = socket.inet_pton(family, source)
    if family == socket.AF_INET:
        return [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("@i4s4s", 0, packed, bytes(4)))]
    return [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, packed + struct.pack("@i", 0))]


def destination_from(ancillary, family):
    for level, kind, data in ancillary:
        if family == socket.AF_INET and level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            return socket.inet_ntop(socket.AF_INET, data[8:12])
        if family == socket.AF_INET6 and level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            return socket.inet_ntop(socket.AF_INET6, data[:16])
    raise RuntimeError("no packet info on a received datagram")


# ---------------------------------------------------------------------------------------------------- the engine

class Server:
    def __init__(self, label):
        self.label = label
        self.sockets = []
        self.peers = []

    def saw(self, address):
        self.peers.append(plain_address(address))
        del self.peers[:-PEERS_KEPT]

    def close(self, loop):
        for sock in self.sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets.clear()


class SctpStack:
    """The raw SCTP sockets of one namespace (one per family), shared by its servers and its probes."""

    def __init__(self, engine, netns):
        self.engine = engine
        self.netns = netns
        self.sockets = {}
        # (family, local port, remote port) -> (remote address, initiate tag, future)
        self.pending = {}
        for family in (socket.AF_INET, socket.AF_INET6):
            with inside(netns):
                sock = socket.socket(family, socket.SOCK_RAW, IPPROTO_SCTP)
            sock.setblocking(False)
            if family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            engine.loop.add_reader(sock.fileno(), self.readable, family)
            self.sockets[family] = sock

    def close(self):
        for sock in self.sockets.values():
            self.engine.loop.remove_reader(sock.fileno())
            sock.close()
        for _, _, future in self.pending.values():
            if not future.done():
                future.set_exception(RuntimeError(f"namespace {self.netns} was closed"))

    def send(self, family, source, destination, packet):
        ancillary = pktinfo(family, source) if source else []
        self.sockets[family].sendmsg([packet], ancillary, 0, (destination, 0))

    async def probe(self, destination, port, timeout, source):
        family = family_of(destination)
        local_port = random.randint(32768, 60999)
        while (family, local_port, port) in self.pending:
            local_port = random.randint(32768, 60999)
        tag = random_tag()
        key = (family, local_port, port)
        future = self.engine.loop.create_future()
        self.pending[key] = (plain_address(destination), tag, future)
        try:
            try:
                self.send(family, source, destination, sctp_packet(local_port, port, 0, init_chunk(tag)))
            except OSError as error:
                return outcome_of_error(error)
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return "timeout"
        finally:
            del self.pending[key]

    def readable(self, family):
        sock = self.sockets[family]
        self.drain_errors(sock, family)
        while True:
            try:
                data, ancillary, _, address = sock.recvmsg(65535, 256)
            except BlockingIOError:
                return
            except OSError:
                # An ICMP error also sets the socket's pending error, which the next recvmsg reports once;
                # the error queue above already matched it to its probe.
                continue
            if family == socket.AF_INET:
                header_length = (data[0] & 0x0F) * 4
                source, destination = socket.inet_ntop(family, data[12:16]), socket.inet_ntop(family, data[16:20])
                packet = data[header_length:]
            else:
                source, destination, packet = address[0], destination_from(ancillary, family), data
            if len(packet) >= 16:
                self.received(family, plain_address(source), destination, packet)

    def drain_errors(self, sock, family):
        while True:
            try:
                data, _, _, address = sock.recvmsg(65535, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, OSError):
                return
            if len(data) < 4:
                continue
            local_port, remote_port = struct.unpack("!HH", data[:4])
            entry = self.pending.get((family, local_port, remote_port))
            if entry and entry[0] == plain_address(address[0]) and not entry[2].done():
                entry[2].set_result("refused")

    def received(self, family, source, destination, packet):
        src_port, dst_port, vtag = struct.unpack("!HHI", packet[:8])
        chunk_type = packet[12]
        if chunk_type == SCTP_INIT and len(packet) >= 32:
            initiate_tag = struct.unpack("!I", packet[16:20])[0]
            server = self.engine.servers.get((self.netns, "sctp", dst_port))
            if server is not None:
                server.saw(source)
                reply = sctp_packet(dst_port, src_port, initiate_tag, init_ack_chunk(random_tag()))
            else:
                reply = sctp_packet(dst_port, src_port, initiate_tag, abort_chunk())
            self.send(family, destination, source, reply)
            return
        entry = self.pending.get((family, dst_port, src_port))
        if entry is None:
            return
        remote, tag, future = entry
        if remote != source or vtag != tag or future.done():
            return
        if chunk_type == SCTP_INIT_ACK:
            future.set_result("connected")
        elif chunk_type == SCTP_ABORT:
            future.set_result("refused")


def outcome_of_error(error):
    if error.errno in REFUSING_ERRNOS:
        return "refused"
    if error.errno in SILENT_ERRNOS:
        return "timeout"
    raise error


class Engine:
    def __init__(self, loop):
        self.loop = loop
        self.servers = {}  # (netns, proto, port) -> Server
        self.sctp = {}  # netns -> SctpStack
        self.lingering = False

    def sctp_stack(self, netns):
        if netns not in self.sctp:
            self.sctp[netns] = SctpStack(self, netns)
        return self.sctp[netns]

    # -------------------------------------------------------------------------------- servers

    def serve(self, netns, proto, port, label):
        key = (netns, proto, port)
        if key in self.servers:
            raise RuntimeError(f"{proto}/{port} is already served in {netns}")
        server = Server(label)
        try:
            if proto == "sctp":
                self.sctp_stack(netns)
            else:
                for family, anywhere in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
                    server.sockets.append(self.listen(netns, proto, family, anywhere, port, server))
        except BaseException:
            server.close(self.loop)
            raise
        self.servers[key] = server

    def listen(self, netns, proto, family, anywhere, port, server):
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        with inside(netns):
            sock = socket.socket(family, kind)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((anywhere, port))
            if proto == "tcp":
                sock.listen(512)
                self.loop.add_reader(sock.fileno(), self.accept, sock, server)
            else:
                if family == socket.AF_INET:
                    sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
                else:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                self.loop.add_reader(sock.fileno(), self.answer_datagrams, sock, family, server)
        except BaseException:
            sock.close()
            raise
        return sock

    def accept(self, listener, server):
        while True:
            try:
                conn, address = listener.accept()
            except (BlockingIOError, ConnectionAbortedError):
                return
            server.saw(address[0])
            conn.setblocking(False)
            self.loop.create_task(self.respond(conn, server, address[0]))

    async def respond(self, conn, server, peer):
        """Answer like a tiny HTTP server, so `curl` from a lab namespace shows who answered."""
        try:
            request = b""
            try:
                while b"\r\n\r\n" not in request and len(request) < 8192:
                    chunk = await asyncio.wait_for(self.loop.sock_recv(conn, 4096), 2)
                    if not chunk:
                        break
                    request += chunk
            except asyncio.TimeoutError:
                pass
            body = f"{server.label} (you are {plain_address(peer)})\n".encode()
            head = f"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            await self.loop.sock_sendall(conn, head + body)
        except OSError:
            pass
        finally:
            conn.close()

    def answer_datagrams(self, sock, family, server):
        while True:
            try:
                _, ancillary, _, address = sock.recvmsg(2048, 256)
            except BlockingIOError:
                return
            except OSError:
                continue
            server.saw(address[0])
            reply = f"{server.label} (you are {plain_address(address[0])})\n".encode()
            try:
                sock.sendmsg([reply], pktinfo(family, destination_from(ancillary, family)), 0, address)
            except OSError:
                pass

    def unserve(self, netns, proto, port):
        server = self.servers.pop((netns, proto, port), None)
        if server is None:
            raise RuntimeError(f"{proto}/{port} is not served in {netns}")
        server.close(self.loop)

    def peers(self, netns, proto, port):
        server = self.servers.get((netns, proto, port))
        if server is None:
            raise RuntimeError(f"{proto}/{port} is not served in {netns}")
        return list(server.peers)

    def forget(self, netns):
        for key in [key for key in self.servers if key[0] == netns]:
            self.servers.pop(key).close(self.loop)
        stack = self.sctp.pop(netns, None)
        if stack is not None:
            stack.close()

    # -------------------------------------------------------------------------------- probes

    async def probe(self, netns, proto, destination, port, timeout, source):
        if proto == "sctp":
            return await self.sctp_stack(netns).probe(destination, port, timeout, source)
        family = family_of(destination)
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        with inside(netns):
            sock = socket.socket(family, kind)
        sock.setblocking(False)
        try:
            if source:
                sock.bind((source, 0))
            if proto == "tcp":
                return await self.probe_tcp(sock, (destination, port), timeout)
            return await self.probe_udp(sock, (destination, port), timeout)
        except OSError as error:
            return outcome_of_error(error)
        finally:
            sock.close()

    async def probe_tcp(self, sock, address, timeout):
        try:
            sock.connect(address)
            return "connected"
        except BlockingIOError:
            pass
        writable = self.loop.create_future()
        self.loop.add_writer(sock.fileno(), lambda: writable.done() or writable.set_result(None))
        try:
            await asyncio.wait_for(writable, timeout)
        except asyncio.TimeoutError:
            return "timeout"
        finally:
            self.loop.remove_writer(sock.fileno())
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == 0:
            return "connected"
        return outcome_of_error(OSError(code, os.strerror(code)))

    async def probe_udp(self, sock, address, timeout):
        # A connected UDP socket is told of ICMP errors (port unreachable -> ECONNREFUSED) and drops strangers.
        sock.connect(address)
        sock.send(b"probe\n")
        try:
            await asyncio.wait_for(self.loop.sock_recv(sock, 2048), timeout)
            return "connected"
        except asyncio.TimeoutError:
            return "timeout"

    # -------------------------------------------------------------------------------- requests

    async def handle(self, request):
        op = request["op"]
        if op == "serve":
            return self.serve(request["netns"], request["proto"], request["port"], request["label"])
        if op == "unserve":
            return self.unserve(request["netns"], request["proto"], request["port"])
        if op == "peers":
            return self.peers(request["netns"], request["proto"], request["port"])
        if op == "probe":
            return await self.probe(request["netns"], request["proto"], request["dst"], request["port"],
                                    request["timeoutMs"] / 1000, request.get("source"))
        if op == "forget":
            return self.forget(request["netns"])
        if op == "linger":
            self.lingering = True
            return None
        raise RuntimeError(f"unknown op {op!r}")


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve_requests(engine, request):
    try:
        value = await engine.handle(request)
        answer({"id": request["id"], "ok": True, "value": value})
    except Exception as error:  # every failure goes back to the caller, who decides
        answer({"id": request["id"], "ok": False, "error": f"{type(error).__name__}: {error}"})


async def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    engine = Engine(loop)
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        task = loop.create_task(serve_requests(engine, json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if engine.lingering:
        # Whoever started us has gone on purpose (lab-cli up); serve until `lab-cli down` kills us.
        sys.stdout = open(os.devnull, "w")
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
