"""Hints for syntax, locks, transactions, constraints on data, connections and the CLI's own checks."""

from __future__ import annotations

import re
from collections.abc import Callable

from dragonfly_bot.core.diagnosis.context import Context
from dragonfly_bot.core.diagnosis.model import Confidence, Hint

CERTAIN, LIKELY, CHECK = Confidence.CERTAIN, Confidence.LIKELY, Confidence.CHECK
_QUOTED = re.compile(r'"([^"]*)"')
_CONNECT_TARGET = re.compile(r"host=(?P<host>\S+) user=(?P<user>\S+) database=(?P<db>[^`\s]+)")


def syntax_error(ctx: Context) -> Hint:
    f = ctx.f
    where = ctx.where(f.error_line) if f.error_line is not None else ctx.where()
    column = f", column {f.caret_column}" if f.caret_column else ""
    near = _QUOTED.search(f.message)
    shown = near.group(1) if near else ""
    if "unterminated dollar-quoted string" in f.message:
        return Hint(
            f"A $$ opened at {where}{column} is never closed: the function or DO body runs to the end of the file. "
            "Close it with the same tag ($$ or $name$) before the final semicolon.",
            LIKELY,
        )
    if shown and "\n" in shown:
        shown = shown.splitlines()[0] + " ..."
    near_text = f" near {shown!r}" if shown else ""
    return Hint(
        f"SQL typo at {where}{column}{near_text}. Fix the syntax (PostgreSQL 15 grammar); check the line above too: "
        "a missing comma or parenthesis is reported at the next token.",
        LIKELY,
    )


def static(text: str, confidence: Confidence) -> Callable[[Context], Hint]:
    def hint(ctx: Context) -> Hint:
        return Hint(text.format(where=ctx.where(), file=ctx.f.file or "the migration"), confidence)

    return hint


def connection(text: str, confidence: Confidence) -> Callable[[Context], Hint]:
    """Connection errors: name the target (host, user, database) the CLI tried."""

    def hint(ctx: Context) -> Hint:
        target = _CONNECT_TARGET.search(ctx.f.message)
        who = f"{target.group('user')}@{target.group('host')}/{target.group('db')}" if target else "the database"
        return Hint(text.format(target=who), confidence)

    return hint


def _first_ten(items, none: str) -> str:
    text = ", ".join(items[:10]) if items else none
    if len(items) > 10:
        text += f" and {len(items) - 10} more"
    return text


def remote_version_missing(ctx: Context) -> Hint:
    f = ctx.f
    versions = _first_ten(f.versions, "some versions")
    return Hint(
        f"The database has migration(s) {versions} applied but supabase/migrations has no file for them: the file "
        "was applied from another branch, renamed, or deleted. Fetch and merge the branch that has the file(s) "
        f"(git log --all -- 'supabase/migrations/{f.versions[0] if f.versions else ''}*'), or restore it. Do not run "
        "`supabase migration repair` blindly: it only edits the history table (the protocol forbids touching it) "
        "and leaves the schema as it is.",
        CHECK,
    )


def out_of_order(ctx: Context) -> Hint:
    files = _first_ten(ctx.f.files, "some files")
    return Hint(
        f"{files} sort(s) before the last migration already applied to the database, so CI will not apply them. "
        "Those files are applied nowhere here; if they are applied in no environment, rename each with a timestamp "
        "later than the newest applied migration (YYYYMMDDHHMMSS of now). When the order truly does not matter, "
        "apply them once with `--include-all`: Actions -> Supabase Migrations -> Run workflow, with include_all "
        "ticked.",
        LIKELY,
    )


def unknown(ctx: Context) -> Hint:
    f = ctx.f
    code = f" (SQLSTATE {f.sqlstate})" if f.sqlstate else ""
    where = f" at {ctx.where()}" if f.file else ""
    return Hint(
        f"No known fix for this error{code}{where}: read what PostgreSQL reported and the failing statement.", CHECK
    )


LOCK_TIMEOUT = static(
    "At {where} another session held a lock on the table longer than lock_timeout. Re-run the workflow when traffic "
    "is low; keep ALTER TABLE on busy tables short, and set lock_timeout at the top of the file so it fails fast "
    "instead of blocking.",
    LIKELY,
)
QUERY_CANCELED = static(
    "At {where} the statement was cancelled (by an operator or the server). Re-run the workflow.", CHECK
)
DEADLOCK = static(
    "At {where} the migration deadlocked with another session writing the same tables. Re-run the workflow; if it "
    "repeats, take locks in a fixed order (LOCK TABLE first) or apply when traffic is low.",
    LIKELY,
)
SERIALIZATION = static("At {where} a concurrent transaction conflicted. Re-run the workflow.", LIKELY)
TRANSACTION_BLOCK = static(
    "At {where} the statement cannot run inside a transaction block (CONCURRENTLY, VACUUM, ALTER SYSTEM...): move it "
    "to its own migration file, outside any BEGIN ... COMMIT.",
    LIKELY,
)
NEEDS_TRANSACTION_BLOCK = static(
    "At {where} the statement only works inside a transaction and the Supabase CLI opens none: wrap it with what it "
    "belongs to in BEGIN; ... COMMIT; in {file}.",
    LIKELY,
)
FOREIGN_KEY = static(
    "At {where} rows reference keys that do not exist: insert the referenced rows first, or clean the orphans before "
    "adding the constraint (the detail names one).",
    CHECK,
)
CHECK_VIOLATION = static(
    "At {where} existing rows break the CHECK: fix the data first, or add the constraint NOT VALID and VALIDATE it "
    "later.",
    CHECK,
)
DATATYPE_MISMATCH = static(
    "At {where} the types do not match: add an explicit cast (USING col::type for ALTER COLUMN TYPE).", LIKELY
)
CONNECTION_FAILED = connection(
    "CI could not reach {target}. Check the DB_URL secret (host, port 5432 direct or 6543 pooler), that the project "
    "is not paused, and Network Restrictions/Bans in the Supabase dashboard. Always --db-url, never --linked.",
    CHECK,
)
DNS_FAILED = connection(
    "The host name of {target} did not resolve. Check the host in the DB_URL secret: the pooler host is "
    "aws-0-<region>.pooler.supabase.com (user postgres.<project-ref>); db.<project-ref>.supabase.co is IPv6-only. "
    "This is the protocol's pooler DNS problem: use --db-url with the right host, never --linked.",
    CHECK,
)
AUTHENTICATION_FAILED = connection(
    "{target} rejected the credentials (wrong password or user). Update the DB_URL secret with the current database "
    "password (URL-encode special characters); through the pooler the user must be postgres.<project-ref>.",
    LIKELY,
)
DATABASE_MISSING = connection(
    "{target}: the database named in DB_URL does not exist: on Supabase it is postgres.", LIKELY
)
