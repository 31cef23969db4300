"""Real sockets on 127.0.0.1 that misbehave on purpose, for transport failures the sandbox cannot produce.

The sandbox injects HTTP-level faults (statuses, drops, slow answers). What happens *before* a request
reaches any server (a refused connection) and the exact socket behaviours behind "may have been sent"
need a listener of our own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_request(conn: socket.socket) -> bytes:
    """Read headers and a Content-Length body, so the server has provably received the request."""
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class MisbehavingServer:
    """Accepts HTTP connections and, after reading the request, does ``mode``.

    modes: ``hang`` (never answers), ``reset`` (closes without a byte), ``truncate`` (sends half a body).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests: list[bytes] = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self._conns.append(conn)
            try:
                self.requests.append(_read_request(conn))
                if self.mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    conn.close()
                elif self.mode == "truncate":
                    conn.sendall(
                        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                        b'{"id": "4'
                    )
                    conn.close()
                # "hang": keep the connection open and silent until close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass
        self._sock.close()


@contextmanager
def misbehaving(mode: str) -> Iterator[MisbehavingServer]:
    server = MisbehavingServer(mode)
    try:
        yield server
    finally:
        server.close()


class LateForwarder:
    """A TCP forwarder to ``target_port`` that only starts listening after ``delay`` seconds.

    Until then, connections to ``port`` are refused: the client's request provably never left, so even a
    POST may be retried, and the retry reaches the real server through the forwarder.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = threading.Thread(target=self._run, args=(delay,), daemon=True)
        self._listener.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, delay: float) -> None:
        time.sleep(delay)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for src, dst in ((client, upstream), (upstream, client)):
                t = threading.Thread(target=self._pipe, args=(src, dst), daemon=True)
                t.start()
                self._threads.append(t)
        sock.close()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._listener.join(timeout=2)
