"""Structured log lines carry job, connection and document ids as key=value."""

from __future__ import annotations

import logging

from hub.jobs.logs import StructuredFormatter


def test_fields_are_appended_as_key_value():
    record = logging.LogRecord("hub.jobs", logging.WARNING, __file__, 1, "job failed", (), None)
    record.job = "push_documents"
    record.connection = "xero"
    record.document_ids = [3, 4]
    record.settings = {"client_secret": "s3cr3t"}  # not a logged field: never printed
    line = StructuredFormatter().format(record)
    assert line.endswith('job failed job="push_documents" connection="xero" document_ids=[3,4]')
    assert "s3cr3t" not in line


def test_push_logs_name_the_connection_and_documents(make_hub_context, sandbox_module, seeding,
                                                     caplog):
    from dramatiq.brokers.stub import StubBroker

    from hub.jobs import JobSettings, build_runtime
    from hub.jobs.push import push_outbox_rows
    from hub.testing import SandboxServer

    app, _ = sandbox_module.create_sandbox_app()
    with SandboxServer(app, log_level="critical") as server:
        ctx = make_hub_context(sandbox_module, connections=[{
            "name": "books", "plugin": "sandbox_accounting",
            "settings": {"base_url": server.url}}])
        ids = seeding.seed_invoices(ctx.engine, 2, "books")
        runtime = build_runtime(ctx, broker=StubBroker(), settings=JobSettings())
        with caplog.at_level(logging.INFO, logger="hub.jobs"):
            assert push_outbox_rows(runtime, [1, 2]) is None
    pushed = [r for r in caplog.records if r.getMessage().startswith("pushed")]
    assert [(r.connection, r.document_ids) for r in pushed] == [("books", ids)]
