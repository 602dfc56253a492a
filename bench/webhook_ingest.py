"""Webhook ingest benchmark: signed events accepted per second by one ``hub serve`` process,
and the ratio to a bare endpoint (``POST /health``) of the same server in the same run.

    python bench/webhook_ingest.py [--seconds 10] [--concurrency 32] [--database-url URL]

It starts one server process (the ``hub serve`` code path: ``build_context`` +
``hub.jobs.processes.run_server``) with a throwaway payments plugin that checks an HMAC-SHA256
signature, then drives it from this process with an async httpx client: first the bare
endpoint, then webhooks, each with a fresh event id. Every accepted event is stored in the
inbox and a job is enqueued; the script checks the inbox holds exactly the accepted events.
Target: ratio >= 0.3.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "whsec_bench"
PLUGIN_NAME = "bench_hmac_payments"


# ---------------------------------------------------------------------------- the plugin
def make_plugin():
    """The throwaway payments plugin (built lazily so the client side imports little)."""
    from pydantic import BaseModel

    from hub import ConnectionType, PaymentEvent, PaymentEventKind, WebhookRejected, hookimpl, owns

    class Settings(BaseModel):
        secret: str

    class Plugin:
        @hookimpl
        def hub_register_connection_types(self, register):
            register(ConnectionType(PLUGIN_NAME, Settings, frozenset({"payments"})))

        @hookimpl
        def hub_receive_payment(self, connection, request):
            if not owns(connection, PLUGIN_NAME):
                return None
            expected = hmac.new(connection.settings.secret.encode(), request.body,
                                hashlib.sha256).hexdigest()
            if not hmac.compare_digest(request.headers.get("x-signature", ""), expected):
                raise WebhookRejected("signature does not match", status_code=401)
            data = json.loads(request.body)
            return [PaymentEvent(event_id=data["id"], kind=PaymentEventKind.payment_succeeded,
                                 object_id=data["charge"], occurred_at=request.received_at)]

    return Plugin()


def serve(config: str, port: int) -> None:
    """Server side: exactly what ``hub serve`` runs, plus the throwaway plugin."""
    from hub.config import load_settings
    from hub.db.models import metadata
    from hub.jobs.processes import run_server
    from hub.host.plugins import build_plugin_host
    from hub.host.context import build_context

    settings = load_settings(config)
    ctx = build_context(settings, plugins=build_plugin_host(
        [(PLUGIN_NAME, make_plugin())], load_entry_points=False, defaults=()))
    metadata.create_all(ctx.engine)
    run_server(ctx, host="127.0.0.1", port=port)


# ---------------------------------------------------------------------------- the client
def signed(event_no: int) -> tuple[bytes, dict]:
    body = json.dumps({"id": f"evt_{event_no:08d}", "charge": f"ch_{event_no:08d}",
                       "amount": "125.00", "currency": "USD"}).encode()
    return body, {"X-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
                  "Content-Type": "application/json"}


async def drive(url: str, seconds: float, concurrency: int, start_no: int) -> tuple[int, int]:
    """POST signed events to ``url`` for ``seconds``; returns (accepted, refused)."""
    import httpx

    accepted = refused = 0
    counter = start_no
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def loop() -> None:
            nonlocal accepted, refused, counter
            while time.monotonic() < deadline:
                counter += 1
                body, headers = signed(counter)
                response = await client.post(url, content=body, headers=headers)
                if response.status_code == 200:
                    accepted += 1
                else:
                    refused += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return accepted, refused


def wait_ready(base: str, process: subprocess.Popen) -> None:
    import httpx

    for _ in range(200):
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--broker-url", default=None, help="default: in-process broker")
    parser.add_argument("--serve", nargs=2, metavar=("CONFIG", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return

    from hub.testing import free_port

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        database_url = args.database_url or f"sqlite:///{(data / 'hub.sqlite').as_posix()}"
        config = data / "hub.toml"
        config.write_text(
            f'data_dir = "{data}"\ndatabase_url = "{database_url}"\nlog_level = "WARNING"\n'
            + (f'broker_url = "{args.broker_url}"\n' if args.broker_url else "")
            + f'\n[[connections]]\nname = "cards"\nplugin = "{PLUGIN_NAME}"\n'
            f'[connections.settings]\nsecret = "{SECRET}"\n', encoding="utf-8")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        namespace = f"hub-bench-{os.getpid()}"  # own Redis keys, deleted afterwards
        env["HUB_JOBS_NAMESPACE"] = namespace
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(config), str(port)],
                                  env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, server)
            asyncio.run(drive(f"{base}/health", 1.0, args.concurrency, 10_000_000))  # warm up
            cpu = time.process_time()
            bare, _ = asyncio.run(drive(f"{base}/health", args.seconds, args.concurrency,
                                        20_000_000))
            bare_cpu = time.process_time() - cpu
            cpu = time.process_time()
            events, refused = asyncio.run(drive(f"{base}/webhooks/cards", args.seconds,
                                                args.concurrency, 0))
            events_cpu = time.process_time() - cpu
        finally:
            server.terminate()
            server.wait(timeout=30)
            if args.broker_url:
                import redis

                client = redis.Redis.from_url(args.broker_url)
                keys = list(client.scan_iter(f"{namespace}*"))
                if keys:
                    client.delete(*keys)
                client.close()
        from sqlalchemy import func, select

        from hub.db.engine import make_engine
        from hub.db.models import InboxEvent

        engine = make_engine(database_url)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(InboxEvent)).scalar()
        engine.dispose()

    bare_rate = bare / args.seconds
    event_rate = events / args.seconds
    print(f"database: {database_url.split(':')[0]}, broker: {args.broker_url or 'in-process'}, "
          f"concurrency {args.concurrency}, {args.seconds:.0f}s per measurement")
    print(f"bare endpoint (POST /health):      {bare_rate:8.1f} requests/s")
    print(f"signed webhooks (POST /webhooks):  {event_rate:8.1f} events accepted/s "
          f"({refused} refused)")
    print(f"events stored in the inbox:        {stored} (accepted: {events})")
    print(f"ratio webhooks / bare:             {event_rate / bare_rate:8.2f}  (target >= 0.30)")
    # If the client used about a full core, it (not the server) limited the bare rate.
    print(f"client CPU share of wall time:     bare {bare_cpu / args.seconds:.0%}, "
          f"webhooks {events_cpu / args.seconds:.0%}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if stored != events:
        raise SystemExit("inbox does not hold exactly the accepted events")


if __name__ == "__main__":
    main()
