"""Run the sandbox (sandbox/, a local Lexware Office API) as a real uvicorn process for tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SandboxServer:
    port: int
    process: subprocess.Popen[bytes]
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, *extra_args: str) -> "SandboxServer":
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port), *extra_args],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        server = cls(port=port, process=proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {proc.returncode}")
            try:
                if requests.get(f"{server.base_url}/_admin/health", timeout=1).ok:
                    return server
            except requests.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        raise RuntimeError("sandbox did not start within 20 s")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, f"{self.base_url}/_admin{path}", timeout=10, **kwargs)
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def reset(self) -> None:
        self.admin("POST", "/reset")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
