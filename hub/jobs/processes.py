"""The long-running processes: ``hub worker``, ``hub scheduler``, ``hub serve``, ``hub run``.

Each runs until SIGTERM or SIGINT, then shuts down in order: stop taking new work (web,
scheduler, dispatcher), let the worker finish the jobs it is running, and return the rest —
to Redis, or, on the embedded broker, by leaving their outbox rows dispatched so the next start
sends them again. Nothing is lost because an outbox row stays open until its job is done.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from hub.errors import ConfigError
from hub.jobs.dispatcher import Dispatcher
from hub.jobs.assemble import build_runtime
from hub.jobs.runtime import JobRuntime
from hub.observe.process import start_process

if TYPE_CHECKING:
    from hub.host.context import HubContext

__all__ = ["run_worker", "run_scheduler", "run_server", "run_all", "shutdown_event"]

log = logging.getLogger("hub.processes")


@contextmanager
def shutdown_event() -> Iterator[threading.Event]:
    """An event set by SIGTERM/SIGINT (only in the main thread; elsewhere never set)."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(ctx: "HubContext", *, threads: int | None = None, dispatch: bool = True,
               runtime: JobRuntime | None = None, stop: threading.Event | None = None) -> None:
    """Consume jobs (and, with ``dispatch``, dispatch the outbox) until told to stop."""
    monitor = start_process(ctx, "worker", threads=threads or "default", dispatch=dispatch)
    runtime = runtime or build_runtime(ctx)
    with shutdown_event() as signalled:
        stop = stop or signalled
        runtime.start_worker(threads)
        dispatcher = Dispatcher(runtime).start() if dispatch else None
        log.info("worker running (%s broker)", "in-process" if runtime.in_process else "redis")
        stop.wait()
        log.info("worker stopping: finishing in-flight jobs")
        if dispatcher:
            dispatcher.stop()
        runtime.close()
        monitor.stop()


def run_scheduler(ctx: "HubContext", *, runtime: JobRuntime | None = None,
                  stop: threading.Event | None = None) -> None:
    """Send scheduled jobs and dispatch the outbox until told to stop."""
    from hub.jobs.scheduler import Scheduler

    monitor = start_process(ctx, "scheduler")
    runtime = runtime or build_runtime(ctx)
    with shutdown_event() as signalled:
        stop = stop or signalled
        scheduler = Scheduler(runtime).start()
        dispatcher = Dispatcher(runtime).start()
        log.info("scheduler running")
        stop.wait()
        scheduler.stop()
        dispatcher.stop()
        runtime.close()
        monitor.stop()


def run_server(ctx: "HubContext", *, host: str | None = None, port: int | None = None,
               runtime: JobRuntime | None = None) -> None:
    """Serve the web app (uvicorn handles SIGTERM itself and finishes open requests)."""
    from hub.web.server import make_server

    monitor = start_process(ctx, "web", listen=f"{host or ctx.settings.web.host}:"
                                                f"{port or ctx.settings.web.port}")
    server = make_server(ctx, runtime, host=host, port=port)
    try:
        server.run()
    except SystemExit:
        if server.started:
            raise
        # uvicorn has logged why and exits: say which setting to change, as `hub run` does
        raise _cannot_listen(server) from None
    finally:
        monitor.stop()


def _free_address(host: str, port: int) -> None:
    """Refuse to start when ``host:port`` cannot be listened on (another program holds it),
    before any job runs: the web server binds it only once the workers are running. (The
    check and uvicorn's own bind can still race; :func:`_listening` catches that case.)"""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"the web server cannot listen on {host}:{port}: "
                          f"{exc.strerror or exc}; hub not started",
                          hint="stop the program using that port, or set [web] port "
                               "(HUB_WEB__PORT) or --port to a free one") from None


def _cannot_listen(server) -> ConfigError:
    return ConfigError(f"the web server could not listen on {server.config.host}:"
                       f"{server.config.port}; hub stopped",
                       hint="stop the program using that port, or set [web] port "
                            "(HUB_WEB__PORT) or --port to a free one")


def run_all(ctx: "HubContext", *, threads: int | None = None, host: str | None = None,
            port: int | None = None, stop: threading.Event | None = None) -> None:
    """Worker threads, scheduler, dispatcher and web server in one process (embedded)."""
    from hub.jobs.scheduler import Scheduler
    from hub.web.server import make_server

    _free_address(host or ctx.settings.web.host, port or ctx.settings.web.port)
    monitor = start_process(ctx, "run", threads=threads or "default")
    runtime = build_runtime(ctx)
    with shutdown_event() as signalled:
        stop = stop or signalled
        runtime.start_worker(threads)
        dispatcher = Dispatcher(runtime).start()
        scheduler = Scheduler(runtime).start()
        server = make_server(ctx, runtime, host=host, port=port)
        web = threading.Thread(target=server.run, name="hub-web", daemon=True)
        web.start()
        try:
            where = f"{server.config.host}:{server.config.port}"
            if not _listening(server, web, stop):
                # uvicorn has logged why (address in use, no permission) and ended its thread
                # with SystemExit; the jobs would otherwise go on running with no web at all
                raise _cannot_listen(server)
            log.info("hub running: web on http://%s", where)
            stop.wait()
            log.info("hub stopping: closing web, then finishing in-flight jobs")
        finally:
            server.should_exit = True
            web.join(timeout=30)
            scheduler.stop()
            dispatcher.stop()
            runtime.close()
            monitor.stop()


def _listening(server, web: threading.Thread, stop: threading.Event) -> bool:
    """Wait until the web server ``server`` (run by thread ``web``) has started; ``False`` if
    its thread ended first (it could not bind its address). Asked to stop meanwhile: ``True``,
    the caller stops it anyway."""
    while not server.started:
        if not web.is_alive():
            return False
        if stop.wait(0.02):
            return True
    return True
