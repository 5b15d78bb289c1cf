"""Hearing of template changes made by other processes: a publish or a label move through another replica or the
command line. `ChangeHint.wait(seconds)` blocks until the database may have changed, or the time is up; the caller
then compares the store's change marker (`TemplateStore.marker`) with the last one it saw.

PostgreSQL: a connection of its own LISTENs on the store's channel (publishes and moves NOTIFY in their transaction).
SQLite: a connection of its own reads `PRAGMA data_version`, which changes when another connection commits to the
file; reading it costs no table access, so it is read every POLL seconds.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

from retention_mcp.generation.template_store import CHANNEL, TemplateStore

POLL = 0.1  # seconds between two reads of SQLite's data_version


class ChangeHint(Protocol):
    def wait(self, seconds: float) -> bool: ...  # True: something may have changed

    def close(self) -> None: ...


class SQLiteHint:
    def __init__(self, path: Path):
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=0.25)
        self._seen = self._version()

    def _version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            try:
                current = self._version()
            except sqlite3.Error:  # locked for a moment: look again at the next poll
                current = self._seen
            if current != self._seen:
                self._seen = current
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)

    def close(self) -> None:
        self._conn.close()


class PostgresHint:
    def __init__(self, dsn: str):
        self.dsn = dsn
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {CHANNEL}")
        return self._conn

    def wait(self, seconds: float) -> bool:
        try:
            for _ in self._connection().notifies(timeout=seconds, stop_after=1):
                return True
        except Exception:  # the database went away: drop the connection, and say "look" once it is back
            self.close()
            time.sleep(min(seconds, 1.0))
            return True
        return False

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def change_hint(store: TemplateStore) -> ChangeHint:
    plans = store.plans
    if store.postgres:
        return PostgresHint(plans.dsn)
    return SQLiteHint(plans.path)
