"""The durable outbox: every post the bot makes is a row before it is a message.

A feature never talks to Discord to announce something; it ``enqueue``s a
row under an idempotency key naming the event (``ci-alert:<repo>:<run>:<attempt>``,
``hotfix-declared:<id>``, ...). Enqueueing the same key twice is a no-op, so a
feature that crashed after enqueueing and runs again posts nothing new. The
sender (``dragonfly_bot.chat.outbox_sender``) claims pending rows with a lease, sends
them and marks them sent with the message id; a claim whose holder died is
taken again when its lease runs out. A row is:

* a new post (``edit_of`` and ``reply_to`` empty);
* an edit of the message another row produced (``edit_of``: that row's key),
  claimed only once that row is sent, and only after every earlier pending
  edit of the same message (so edits land in order);
* a reply to such a message (``reply_to``).

``held`` rows (the relay's alerts over its rate limit) are never sent alone:
``fold`` turns a group of them into one summary row, atomically.

Rows hold a neutral, JSON-able message (see ``dragonfly_bot.chat.outbox_sender`` for
its fields), never Discord objects: the sender renders it.

This module is the SQLite store; the protocol ``OutboxStore`` is what the
sender and the features rely on.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from dragonfly_bot.adapters.state.files import STATE_PROBLEMS, StateProblems, open_sqlite
from dragonfly_bot.chat.channels import PostRef

OUTBOX_FILE = "outbox.sqlite3"
# What to do with an edit (or reply) whose target message is gone or was never posted.
IfGone = Literal["drop", "send"]
RowState = Literal["held", "pending", "sent", "dead", "folded"]


def nonce_for(key: str) -> str:
    """The Discord nonce of a row: derived from its key (at most 25 characters, as Discord allows)."""
    return "ob" + hashlib.sha256(key.encode()).hexdigest()[:23]


def check_target(edit_of: str | None, reply_to: str | None) -> None:
    """Every store's rule for a new row: it edits a message or replies to one, not both."""
    if edit_of and reply_to:
        raise ValueError("an outbox row edits a message or replies to one, not both")


@dataclass(frozen=True)
class OutboxRow:
    key: str
    channel: str
    message: dict[str, Any]
    edit_of: str | None = None
    reply_to: str | None = None
    if_gone: IfGone = "drop"
    state: RowState = "pending"
    tag: str | None = None
    attempts: int = 0
    attempted_at: float | None = None  # a send started then; its outcome is unknown until marked
    lease_token: str | None = None
    ref: PostRef | None = None
    last_error: str | None = None
    created_at: float = 0.0

    @property
    def target(self) -> str | None:
        return self.edit_of or self.reply_to

    @property
    def nonce(self) -> str:
        return nonce_for(self.key)


class OutboxStore(Protocol):
    """Where outbox rows live (SQLite here; a database adapter implements the same calls)."""

    async def enqueue(
        self,
        key: str,
        channel: str,
        message: dict[str, Any],
        *,
        edit_of: str | None = None,
        reply_to: str | None = None,
        if_gone: IfGone = "drop",
        tag: str | None = None,
        held: bool = False,
    ) -> bool:
        """Write the row unless ``key`` exists; True when it was new."""

    async def claim(self, *, lease_seconds: float, limit: int = 20) -> list[OutboxRow]:
        """Lease up to ``limit`` sendable rows, oldest first (see the module doc)."""

    async def mark_attempted(self, key: str, token: str) -> bool:
        """Record that a send starts now (False: the lease was lost, do not send)."""

    async def mark_sent(self, key: str, ref: PostRef) -> None:
        """The message exists: record where (whoever holds the lease; a real id is the truth)."""

    async def mark_failed(self, key: str, token: str, error: str, *, retry_in: float | None) -> None:
        """Give the lease back, to retry in ``retry_in`` seconds, or for good (None: dead)."""

    async def get(self, key: str) -> OutboxRow | None: ...

    async def fold(
        self, tag: str, key: str, channel: str, message_for: Any, *, limit: int | None = None
    ) -> list[OutboxRow]:
        """Replace the (oldest ``limit``) held rows of ``tag`` by one row ``key``; ``message_for(rows)`` makes
        its message."""

    async def held(self, tag: str) -> list[OutboxRow]: ...

    async def count_since(self, tag: str, since: float) -> int:
        """Rows of ``tag`` enqueued (not held) since ``since`` (epoch seconds): a rate limit that survives restarts."""

    async def pending_count(self) -> int: ...

    def close(self) -> None: ...


_SCHEMA = """
create table if not exists outbox (
    seq integer primary key autoincrement,
    key text not null unique,
    channel text not null,
    message text not null,
    edit_of text,
    reply_to text,
    if_gone text not null default 'drop' check (if_gone in ('drop', 'send')),
    state text not null default 'pending' check (state in ('held', 'pending', 'sent', 'dead', 'folded')),
    tag text,
    not_before real not null,
    attempts integer not null default 0,
    attempted_at real,
    lease_token text,
    lease_until real,
    channel_id integer,
    message_id integer,
    thread_id integer,
    last_error text,
    created_at real not null,
    sent_at real
);
create index if not exists outbox_sendable on outbox (state, not_before);
create index if not exists outbox_tag on outbox (tag, created_at);
"""

_COLUMNS = (
    "key, channel, message, edit_of, reply_to, if_gone, state, tag, attempts, attempted_at, lease_token,"
    " channel_id, message_id, thread_id, last_error, created_at"
)


def _row(values: Sequence) -> OutboxRow:
    (key, channel, message, edit_of, reply_to, if_gone, state, tag, attempts, attempted_at, token) = values[:11]
    channel_id, message_id, thread_id, last_error, created_at = values[11:]
    ref = None
    if message_id is not None:
        ref = PostRef(channel=channel, channel_id=channel_id, message_id=message_id, thread_id=thread_id)
    return OutboxRow(
        key=key,
        channel=channel,
        message=json.loads(message),
        edit_of=edit_of,
        reply_to=reply_to,
        if_gone=if_gone,
        state=state,
        tag=tag,
        attempts=attempts,
        attempted_at=attempted_at,
        lease_token=token,
        ref=ref,
        last_error=last_error,
        created_at=created_at,
    )


class SqliteOutbox:
    """The outbox in one SQLite file (see ``docs/ARCHITECTURE.md`` for when this store is used)."""

    def __init__(self, path: Path, *, clock=time.time, problems: StateProblems = STATE_PROBLEMS):
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_sqlite(self.path, what="outbox", schema=_SCHEMA, problems=problems)

    @property
    def description(self) -> str:
        return str(self.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _insert(self, row: tuple) -> bool:
        cur = self._db.execute(
            "insert or ignore into outbox (key, channel, message, edit_of, reply_to, if_gone, state, tag,"
            " not_before, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )
        return cur.rowcount == 1

    async def enqueue(
        self,
        key: str,
        channel: str,
        message: dict[str, Any],
        *,
        edit_of: str | None = None,
        reply_to: str | None = None,
        if_gone: IfGone = "drop",
        tag: str | None = None,
        held: bool = False,
    ) -> bool:
        check_target(edit_of, reply_to)
        now = self._clock()
        body = json.dumps(message, separators=(",", ":"), sort_keys=True)
        state = "held" if held else "pending"
        with self._lock:
            return self._insert((key, channel, body, edit_of, reply_to, if_gone, state, tag, now, now))

    async def claim(self, *, lease_seconds: float, limit: int = 20) -> list[OutboxRow]:
        now = self._clock()
        token = uuid.uuid4().hex
        with self._lock:
            self._db.execute("begin immediate")
            try:
                keys = [
                    key
                    for (key,) in self._db.execute(
                        "select o.key from outbox o"
                        " left join outbox t on t.key = coalesce(o.edit_of, o.reply_to)"
                        " where o.state = 'pending' and o.not_before <= ?"
                        " and (o.lease_until is null or o.lease_until < ?)"
                        " and (coalesce(o.edit_of, o.reply_to) is null or t.key is null"
                        "      or t.state in ('sent', 'dead', 'folded'))"
                        " and not exists (select 1 from outbox p where p.state = 'pending'"
                        "      and p.edit_of = o.edit_of and p.seq < o.seq)"
                        " order by o.seq limit ?",
                        (now, now, limit),
                    )
                ]
                self._db.executemany(
                    "update outbox set lease_token = ?, lease_until = ? where key = ?",
                    [(token, now + lease_seconds, key) for key in keys],
                )
                rows = [self._get(key) for key in keys]
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
        return [row for row in rows if row is not None]

    async def mark_attempted(self, key: str, token: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "update outbox set attempted_at = ?, attempts = attempts + 1"
                " where key = ? and lease_token = ? and state = 'pending'",
                (self._clock(), key, token),
            )
            return cur.rowcount == 1

    async def mark_sent(self, key: str, ref: PostRef) -> None:
        with self._lock:
            self._db.execute(
                "update outbox set state = 'sent', channel_id = ?, message_id = ?, thread_id = ?, sent_at = ?,"
                " lease_token = null, lease_until = null, last_error = null where key = ? and state = 'pending'",
                (ref.channel_id, ref.message_id, ref.thread_id, self._clock(), key),
            )

    async def mark_failed(self, key: str, token: str, error: str, *, retry_in: float | None) -> None:
        now = self._clock()
        with self._lock:
            if retry_in is None:
                self._db.execute(
                    "update outbox set state = 'dead', last_error = ?, lease_token = null, lease_until = null"
                    " where key = ? and lease_token = ? and state = 'pending'",
                    (error, key, token),
                )
            else:
                self._db.execute(
                    "update outbox set not_before = ?, last_error = ?, lease_token = null, lease_until = null"
                    " where key = ? and lease_token = ? and state = 'pending'",
                    (now + retry_in, error, key, token),
                )

    def _get(self, key: str) -> OutboxRow | None:
        found = self._db.execute(f"select {_COLUMNS} from outbox where key = ?", (key,)).fetchone()
        return _row(found) if found else None

    async def get(self, key: str) -> OutboxRow | None:
        with self._lock:
            return self._get(key)

    async def held(self, tag: str) -> list[OutboxRow]:
        with self._lock:
            found = self._db.execute(
                f"select {_COLUMNS} from outbox where state = 'held' and tag = ? order by seq", (tag,)
            ).fetchall()
        return [_row(values) for values in found]

    async def fold(
        self, tag: str, key: str, channel: str, message_for: Any, *, limit: int | None = None
    ) -> list[OutboxRow]:
        now = self._clock()
        with self._lock:
            self._db.execute("begin immediate")
            try:
                rows = [
                    _row(values)
                    for values in self._db.execute(
                        f"select {_COLUMNS} from outbox where state = 'held' and tag = ? order by seq limit ?",
                        (tag, -1 if limit is None else limit),
                    ).fetchall()
                ]
                if rows:
                    body = json.dumps(message_for(rows), separators=(",", ":"), sort_keys=True)
                    self._insert((key, channel, body, None, None, "drop", "pending", f"{tag}:summary", now, now))
                    self._db.executemany(
                        "update outbox set state = 'folded', last_error = ? where key = ? and state = 'held'",
                        [(f"folded into {key}", row.key) for row in rows],
                    )
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
        return rows

    async def count_since(self, tag: str, since: float) -> int:
        with self._lock:
            (count,) = self._db.execute(
                "select count(*) from outbox where tag = ? and created_at >= ? and state != 'held'"
                " and state != 'folded'",
                (tag, since),
            ).fetchone()
        return count

    async def pending_count(self) -> int:
        with self._lock:
            (count,) = self._db.execute("select count(*) from outbox where state = 'pending'").fetchone()
        return count


def make_outbox_store(settings, *, client=None) -> OutboxStore:
    """The outbox of the running bot (OUTBOX_STORE; docs/ARCHITECTURE.md, "Where the outbox lives").

    ``database``: the SUPABASE_MODE project, over PostgREST with the service-role
    key when set (``client`` is the bot's HTTP client), else its direct DB URL.
    """
    if settings.outbox_store == "local":
        return SqliteOutbox(Path(settings.data_dir) / OUTBOX_FILE)
    from dragonfly_bot.adapters.state.outbox_db import PostgresOutbox, RestOutbox
    from dragonfly_bot.errors import UserFacingError

    env = settings.supabase_mode
    url, key = settings.project_url(env), settings.service_role_key(env)
    if url and key and client is not None:
        return RestOutbox(client, url, key.get_secret_value(), timeout=settings.rest_timeout_seconds)
    db_url = settings.db_url(env)
    if db_url is not None:
        return PostgresOutbox(db_url.get_secret_value())
    raise UserFacingError(
        f"OUTBOX_STORE=database needs the SUPABASE_MODE ({env}) project: set SUPABASE_{env.upper()}_URL and "
        f"SUPABASE_{env.upper()}_SERVICE_ROLE_KEY (or its DB URL), or OUTBOX_STORE=local"
    )
