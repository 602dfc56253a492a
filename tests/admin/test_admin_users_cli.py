"""``hub user add/list/disable/passwd``: hashed passwords, clear refusals, audited changes."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select

import hub.db.models as models
from hub.access.passwords import verify_password
from hub.cli import state as cli_state
from hub.cli.main import main
from hub.db.engine import make_engine, session_scope
from hub.db.models import AuditEvent, User


@pytest.fixture
def hub_cli(tmp_path, monkeypatch):
    db = tmp_path / "t.sqlite"
    engine = make_engine(f"sqlite:///{db.as_posix()}")
    models.metadata.create_all(engine)
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path.as_posix()}"\n'
                      f'database_url = "sqlite:///{db.as_posix()}"\n')
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    cli_state.reset()

    def run(*args: str) -> int:
        return main(["--config", str(config), *args])

    yield run, engine
    cli_state.reset()
    engine.dispose()


def test_user_commands(hub_cli, capsys):
    run, engine = hub_cli
    assert run("user", "list") == 0
    assert "no users yet" in capsys.readouterr().out
    assert run("user", "add", "ann", "--role", "approver", "--password", "first password") == 0
    assert run("user", "add", "ann", "--password", "another password") == 2
    assert "already exists" in capsys.readouterr().err
    assert run("user", "add", "bob", "--role", "owner", "--password", "long enough pw") == 2
    assert "unknown role 'owner'" in capsys.readouterr().err
    assert run("user", "add", "bob", "--password", "short") == 2
    assert "shorter than" in capsys.readouterr().err
    assert run("user", "passwd", "ann", "--password", "second password") == 0
    assert run("user", "disable", "ann") == 0
    assert run("user", "list") == 0
    out = capsys.readouterr().out
    assert "ann" in out and "approver" in out and "disabled" in out
    assert run("user", "disable", "nobody") == 2
    with session_scope(engine) as session:
        user = session.execute(select(User)).scalar_one()
        assert verify_password(user.password_hash, "second password")
        assert not verify_password(user.password_hash, "first password")
        assert user.disabled_at is not None and user.session_version == 3
        actions = session.execute(select(AuditEvent.action, AuditEvent.actor)
                                  .order_by(AuditEvent.id)).all()
    who = f"cli:{getpass.getuser()}"
    assert actions == [("user.added", who), ("user.password_changed", who),
                       ("user.disabled", who)]


def test_user_names_passwords_and_states_are_checked(tmp_path, monkeypatch, capsys):
    """A name that needs quoting in an address, or one that differs from another only in
    case, is refused; so is a password of spaces; disabling twice is a conflict, and a
    disabled user can be enabled again, with the password they had."""
    from hub.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0 and main(["db", "upgrade"]) == 0

    def run(*args):
        code = main(list(args))
        return code, capsys.readouterr().err

    assert run("user", "add", "ann", "--password", "first password")[0] == 0
    for name, says in (("ANN", "already exists"), ("a/b", "not a valid username"),
                       ("<script>", "not a valid username"), ("a b", "not a valid username"),
                       ("..", "not a valid username")):
        code, err = run("user", "add", name, "--password", "long enough pw")
        assert code == 2 and says in err, (name, err)
    code, err = run("user", "add", "bob@example.com", "--password", " " * 12)
    assert code == 2 and "only spaces" in err
    assert run("user", "passwd", "ann", "--password", " " * 12)[0] == 2
    assert run("user", "add", "bob@example.com", "--password", "long enough pw")[0] == 0
    code, err = run("user", "enable", "ann")
    assert code == 2 and "is not disabled" in err
    assert run("user", "disable", "ann")[0] == 0
    code, err = run("user", "disable", "ann")
    assert code == 2 and "already disabled" in err and "hub user enable ann" in err
    assert run("user", "enable", "ann")[0] == 0
    assert run("user", "list")[0] == 0


@pytest.mark.parametrize("args,says", [
    (["user", "add", "a b"], "not a valid username"),
    (["user", "add", "ANN"], "already exists"),
    (["user", "add", "bob", "--role", "owner"], "unknown role 'owner'"),
    (["user", "passwd", "nobody"], "no user 'nobody'"),
])
def test_a_bad_name_or_role_is_refused_before_the_password_is_asked(hub_cli, capsys,
                                                                   monkeypatch, args, says):
    run, engine = hub_cli
    monkeypatch.delenv("HUB_USER_PASSWORD", raising=False)
    assert run("user", "add", "ann", "--password", "first password") == 0
    capsys.readouterr()

    def no_prompt(*_args, **_kwargs):
        raise AssertionError("asked for the password of a user that is refused anyway")

    monkeypatch.setattr("typer.prompt", no_prompt)
    assert run(*args) == 2
    assert says in capsys.readouterr().err
    with session_scope(engine) as session:
        assert session.execute(select(User.username)).scalars().all() == ["ann"]
