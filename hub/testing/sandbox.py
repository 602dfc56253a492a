"""Run a vendor sandbox (any ASGI app) on a real local port, in a background thread."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

__all__ = ["SandboxServer", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SandboxServer:
    """``with SandboxServer(app) as server: httpx.get(server.url + "/...")``.

    The server listens on 127.0.0.1 only; ``url`` has no trailing slash.
    """

    def __init__(self, app, *, host: str = "127.0.0.1", port: int | None = None,
                 log_level: str = "warning", startup_timeout: float = 10.0) -> None:
        self.app = app
        self.host = host
        self.port = port or free_port(host)
        self._config = uvicorn.Config(app, host=host, port=self.port, log_level=log_level,
                                      lifespan="off", access_log=False)
        self._server = uvicorn.Server(self._config)
        self._thread: threading.Thread | None = None
        self._startup_timeout = startup_timeout

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxServer":
        """Start serving and wait until the port accepts connections."""
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox:{self.port}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
