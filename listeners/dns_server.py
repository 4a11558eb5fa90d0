"""The DNS listener's sockets: UDP and TCP (RFC 7766) on one port, on an asyncio loop in a thread.

An answer that carries a contact is sent only once the contact is on disk.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading

from listeners.caps import ConnectionCaps
from listeners.dns import Authority, Outcome, answer_packet
from listeners.rrl import SEND, SLIP, RateLimiter

log = logging.getLogger("canary.listeners.dns")


class DnsServer:
    """Authoritative DNS over UDP and TCP; `start()` binds (port 0: any free port), `stop()` ends."""

    def __init__(self, authority: Authority, recorder, host: str = "127.0.0.1", port: int = 5353, *,
                 rrl_rate: float = 20, rrl_slip: int = 2, tcp_idle_seconds: float = 10,
                 max_tcp_connections: int = 256, tcp_connections_per_source: int = 16, shed_rate: float = 0,
                 udp_receive_buffer: int = 131072):
        self.authority = authority
        self.recorder = recorder
        self.host, self.port = host, port
        self.limiter = RateLimiter(rrl_rate, rrl_slip)
        # Before any parsing: a network sending more UDP queries than this per second (0: no
        # bound) has the rest counted (unknown tally "shed") and dropped unread, so that a flood
        # cannot queue ahead of everybody else's queries on the one socket. At most a tenth of a
        # second's worth at once: a flood's first second let 100 queries through in one burst, each
        # a contact to resolve and store, and while the listener answered them the short receive
        # queue overflowed and dropped everybody's queries (bench/hostile.py, its first 0.3 s).
        self.shedder = RateLimiter(shed_rate, 0, burst=max(1.0, shed_rate / 10))
        self.udp_receive_buffer = udp_receive_buffer
        self.tcp_idle_seconds = tcp_idle_seconds
        # One address cannot hold every slot (it could hold all 256 before).
        self.tcp_caps = ConnectionCaps(max_tcp_connections, tcp_connections_per_source)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    def from_settings(cls, settings, recorder, host: str, port: int) -> "DnsServer":
        dns = settings["dns"]
        return cls(Authority.from_settings(settings), recorder, host, port, rrl_rate=float(dns["rrl_rate"]),
                   rrl_slip=int(dns["rrl_slip"]), tcp_idle_seconds=float(dns["tcp_idle_seconds"]),
                   max_tcp_connections=int(dns["tcp_max_connections"]),
                   tcp_connections_per_source=int(dns["tcp_connections_per_source"]),
                   shed_rate=float(dns["udp_queries_per_network"]),
                   udp_receive_buffer=int(dns["udp_receive_buffer_bytes"]))

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> "DnsServer":
        self._thread = threading.Thread(target=self._run, name="dns", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as error:  # reported to start()
            self._error = error
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), local_addr=(self.host, self.port))
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._accept_tcp, self.host, port, reuse_address=True)
                break
            except OSError:
                udp.close()
                if self.port or attempt == 19:
                    raise
        self.port = port
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            udp.close()
            tcp.close()
            # Answers still waiting on the store finish (they are acknowledged contacts);
            # idle TCP connections are cut.
            for task in list(self._tasks):
                if task.get_name() == "tcp":
                    task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await tcp.wait_closed()

    def _track(self, coroutine, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- handling -------------------------------------------------------------------------
    def _answer(self, data: bytes, source, transport: str) -> Outcome:
        outcome = answer_packet(data, (source[0], source[1]), transport, self.authority, self.recorder.resolve)
        if outcome.unknown:
            self.recorder.count_unknown("dns", outcome.unknown)
        return outcome

    async def _durable(self, outcome: Outcome) -> bool:
        """Wait until the contact is stored; False if the store refused it (then say nothing)."""
        try:
            await self.recorder.arecord(outcome.contact)
            return True
        except Exception:
            log.exception("could not store a DNS contact; not answering")
            return False

    def _accept_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if peer else "unknown"
        # Counted here, not when the task first runs: one loop turn may accept a whole backlog.
        if not self.tcp_caps.admit(source):
            writer.close()
            return
        self._track(self._serve_tcp(reader, writer, source), "tcp")

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: str) -> None:
        source = writer.get_extra_info("peername")
        try:
            # Several queries per connection, each answered in order, until idle (RFC 7766 6.2.3).
            while True:
                async with asyncio.timeout(self.tcp_idle_seconds):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(length)
                outcome = self._answer(data, source, "tcp")
                if outcome.contact is not None and not await self._durable(outcome):
                    break
                if outcome.reply is not None:
                    writer.write(struct.pack("!H", len(outcome.reply)) + outcome.reply)
                    await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("DNS TCP connection from %s failed", source)
        finally:
            self.tcp_caps.release(address)
            writer.close()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer):
        self.server = server
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        # A short receive queue: a query waits behind every datagram queued before it, and under a
        # flood read slower than it comes (a loaded machine) a 4 MB queue held 4.5 s of it; a
        # resolver gives up long before. Beyond the queue the kernel drops (the resolver retries).
        # Commits do not hold up the reading: answers wait for them, not the socket.
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.server.udp_receive_buffer)
        except OSError:
            pass

    def datagram_received(self, data: bytes, source) -> None:
        server = self.server
        if server.shedder.decide(source[0]) != SEND:
            server.recorder.count_unknown("dns", "shed")
            return
        try:
            outcome = server._answer(data, source, "udp")
        except Exception:  # never let one packet stop the listener
            log.exception("DNS packet from %s could not be answered", source)
            return
        if outcome.reply is None:
            return
        decision = server.limiter.decide(source[0])
        reply = {SEND: outcome.reply, SLIP: outcome.truncated or outcome.reply}.get(decision)   # DROP: None
        if outcome.contact is None:
            if reply is not None:
                self.transport.sendto(reply, source)
            return
        # A known name is recorded whatever the rate, and answered (even by a slip's bare TC)
        # only once its contact is on disk.
        if reply is None:
            server.recorder.submit(outcome.contact)
            return
        transport = self.transport

        def answer(error):
            if error is None:
                transport.sendto(reply, source)
            else:
                log.error("could not store a DNS contact (%s); not answering", error)
        server.recorder.notify(outcome.contact, asyncio.get_running_loop(), answer)

    def error_received(self, exc) -> None:  # ICMP unreachable from a spoofed source: ignore
        pass

