"""``/health`` is cheap liveness; ``/health/ready`` names what fails (database, broker,
migrations at head) with 503 and answers 200 again once it is back.

The shared PostgreSQL and Redis are never stopped: the hub reaches them through TCP forwarders
owned by the test, and "stopping" a service closes its forwarder (and every connection through
it), exactly what the hub sees when the service goes down.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
from dramatiq.brokers.stub import StubBroker
from fastapi.testclient import TestClient

from hub.config import HubSettings
from hub.db.migrate import upgrade
from hub.host.context import build_context
from hub.jobs.assemble import build_runtime
from hub.web.app import create_app


class Forwarder:
    """Listens on a fixed local port and pipes each connection to ``target``."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.port = port
        self._server: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> "Forwarder":
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        """The service is gone: no new connections, open ones cut."""
        if self._server is not None:
            try:  # wakes the accepting thread; a bare close() would leave the port listening
                self._server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._server.close()
            self._server = None
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._sockets.clear()


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _client(tmp_path, database_url: str, broker_url: str | None) -> TestClient:
    settings = HubSettings(data_dir=tmp_path / "data", database_url=database_url,
                           broker_url=broker_url)
    ctx = build_context(settings)
    return TestClient(create_app(ctx, build_runtime(ctx, broker=StubBroker())))


def test_liveness_is_cheap_and_a_database_behind_the_code_is_not_ready(tmp_path):
    url = f"sqlite:///{(tmp_path / 'empty.sqlite').as_posix()}"
    with _client(tmp_path, url, None) as client:
        assert client.get("/health").json() == {"status": "ok"}
        answer = client.get("/health/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["failing"] == ["migrations"]
        assert "hub db upgrade" in body["checks"]["migrations"]
        upgrade(url)
        ready = client.get("/health/ready")
        assert ready.status_code == 200, ready.json()
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}


def test_unauthenticated_health_post_never_reads_a_large_body(tmp_path):
    url = f"sqlite:///{(tmp_path / 'h.sqlite').as_posix()}"
    with _client(tmp_path, url, None) as client:
        assert client.post("/health", content=b"x" * 1000).status_code == 200
        big = client.post("/health", content=b"x" * (256 * 1024 + 1))
        assert big.status_code == 413


@pytest.mark.postgres
@pytest.mark.redis
def test_ready_names_postgres_or_redis_while_down_and_recovers(tmp_path, hub_postgres_url,
                                                               hub_redis_url):
    upgrade(hub_postgres_url)
    pg, redis_ = urlsplit(hub_postgres_url), urlsplit(hub_redis_url)
    db_proxy = Forwarder((pg.hostname, pg.port or 5432)).start()
    broker_proxy = Forwarder((redis_.hostname, redis_.port or 6379)).start()
    try:
        with _client(tmp_path, _via(hub_postgres_url, db_proxy.port),
                     _via(hub_redis_url, broker_proxy.port)) as client:
            assert client.get("/health/ready").status_code == 200

            db_proxy.stop()
            down = client.get("/health/ready")
            assert down.status_code == 503
            assert "database" in down.json()["failing"]
            assert "broker" not in down.json()["failing"]
            assert down.json()["checks"]["database"].startswith("unreachable")
            assert client.get("/health").status_code == 200  # alive, just not ready

            db_proxy = Forwarder(db_proxy.target, db_proxy.port).start()
            assert client.get("/health/ready").status_code == 200

            broker_proxy.stop()
            down = client.get("/health/ready")
            assert down.status_code == 503 and down.json()["failing"] == ["broker"]

            broker_proxy = Forwarder(broker_proxy.target, broker_proxy.port).start()
            back = client.get("/health/ready")
            assert back.status_code == 200, back.json()
    finally:
        db_proxy.stop()
        broker_proxy.stop()
