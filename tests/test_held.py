"""`Database.hold()`: one connection kept for many write transactions (serve's
writer), each committed as `Database.retried` commits, a Session made only
when the work asks for one, and a fresh connection after a failure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pager_cli.errors import PagerError
from pager_cli.store import tables as m


def _value(db, key: str):  # noqa: ANN001, ANN202
    with db.read() as session:
        return session.connection().execute(sa.select(m.settings.c.value).where(m.settings.c.key == key)).scalar()


def test_each_transaction_is_committed_on_the_same_connection(db):
    held = db.hold()
    seen = []
    try:
        for n in range(3):
            def work(tx, n=n):  # noqa: ANN001, ANN202
                seen.append(tx.connection)
                tx.connection.execute(m.settings.insert().values(key=f"k{n}", value=str(n)))
                assert tx._session is None  # none made: Core statements only
            held.retried(work)
            assert _value(db, f"k{n}") == str(n)  # committed: another connection sees it
    finally:
        held.close()
    assert seen[0] is seen[1] is seen[2]


def test_a_session_asked_for_writes_in_the_same_transaction(db):
    held = db.hold()
    try:
        def work(tx):  # noqa: ANN001, ANN202
            tx.connection.execute(m.settings.insert().values(key="core", value="1"))
            tx.session.execute(m.settings.insert().values(key="orm", value="2"))
        held.retried(work)
    finally:
        held.close()
    assert (_value(db, "core"), _value(db, "orm")) == ("1", "2")


def test_a_failure_rolls_back_and_the_next_transaction_takes_a_fresh_connection(db):
    held = db.hold()
    seen = []
    try:
        def failing(tx):  # noqa: ANN001, ANN202
            seen.append(tx.connection)
            tx.connection.execute(m.settings.insert().values(key="lost", value="x"))
            tx.session.execute(m.settings.insert().values(key="lost too", value="x"))
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            held.retried(failing)
        assert _value(db, "lost") is None and _value(db, "lost too") is None

        def duplicate(tx):  # noqa: ANN001, ANN202 - a database error: translated, rolled back
            seen.append(tx.connection)
            tx.connection.execute(m.settings.insert().values(key="once", value="1"))
            tx.connection.execute(m.settings.insert().values(key="once", value="2"))

        with pytest.raises(PagerError):
            held.retried(duplicate)
        assert _value(db, "once") is None

        held.retried(lambda tx: seen.append(tx.connection) or tx.connection.execute(
            m.settings.insert().values(key="after", value="3")))
        assert _value(db, "after") == "3"
    finally:
        held.close()
    assert seen[0] is not seen[1] and seen[1] is not seen[2]
