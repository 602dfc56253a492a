"""The test kit's postgres/redis markers: a marked test asks for its service, an unmarked one
does not — also when only one parameter of a parametrised test is marked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

PARAMETRISED = textwrap.dedent("""
    import pytest

    @pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres",
                                                           marks=pytest.mark.postgres)])
    def test_case(db):
        assert db
""")


def test_marking_one_parameter_skips_only_that_parameter(tmp_path):
    (tmp_path / "test_param.py").write_text(PARAMETRISED, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("HUB_TEST_POSTGRES_URL", "HUB_TEST_REQUIRE_SERVICES")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                          "test_param.py"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert "1 passed, 1 skipped" in run.stdout, run.stdout + run.stderr
    assert "PostgreSQL tests need HUB_TEST_POSTGRES_URL" in run.stdout


def test_a_required_service_that_is_missing_fails_the_marked_parameter(tmp_path):
    (tmp_path / "test_param.py").write_text(PARAMETRISED, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HUB_TEST_POSTGRES_URL"}
    env["HUB_TEST_REQUIRE_SERVICES"] = "1"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "test_param.py"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert "1 failed, 1 passed" in run.stdout or "1 passed, 1 error" in run.stdout, \
        run.stdout + run.stderr
