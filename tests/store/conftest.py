"""Store fixtures: a real SQLite file always; a real PostgreSQL server when SIGVERIFY_TEST_PG_URL is set
(.ci/run installs Debian's postgresql, starts it on loopback and sets it)."""

from __future__ import annotations

import os

import pytest

from sigverify.store.repository import Store

PG_URL = os.environ.get("SIGVERIFY_TEST_PG_URL", "")
#: under CI the PostgreSQL back end is always a parameter: a server that did not start fails the
#: tests instead of quietly leaving them out
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL or os.environ.get("CI") else [])


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        if not PG_URL:
            pytest.fail("CI is set but SIGVERIFY_TEST_PG_URL is not: .ci/run could not start PostgreSQL "
                        "(see its 'ci:' lines)")
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()
