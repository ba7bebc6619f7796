"""Hints for statements that ran before: the object exists, the row exists, the object is gone already."""

from __future__ import annotations

import re

from dragonfly_bot.core.diagnosis.context import Context, first_line
from dragonfly_bot.core.diagnosis.model import Confidence, Hint
from dragonfly_bot.core.diagnosis.rewrite import (
    drop_function_first,
    drop_if_exists,
    guarded_rename,
    insert_on_conflict_do_nothing,
    rerunnable_create,
)

CERTAIN, LIKELY, CHECK = Confidence.CERTAIN, Confidence.LIKELY, Confidence.CHECK
_DOWN_MARKER = re.compile(r"^\s*--\s*migrate:down\b", re.IGNORECASE | re.MULTILINE)


def relation_exists(ctx: Context) -> Hint:
    head = "The object exists already: the migration is not idempotent (it ran before, or the object was made by hand)."
    hint = ctx.rewrite(f"{head} At {ctx.where()}, write:", rerunnable_create(ctx.statement))
    if hint:
        return hint
    return Hint(
        f"{head} At {ctx.where()}, add IF NOT EXISTS (CREATE TABLE/INDEX/SCHEMA/SEQUENCE, ADD COLUMN), "
        "use CREATE OR REPLACE (views, functions, triggers), DROP ... IF EXISTS first (policies), "
        "or wrap it in a DO $$ block that checks the catalog or catches duplicate_object.",
        LIKELY,
    )


def duplicate_key(ctx: Context) -> Hint:
    f = ctx.f
    if "schema_migrations" in f.message:
        return Hint(
            f"Version {f.version} is already recorded in supabase_migrations.schema_migrations: another run applied "
            "it concurrently, or two files share this version. Check both with /migrations; give a new file a unique "
            "timestamp. Never edit the history table.",
            CHECK,
        )
    detail = f" ({first_line(f.detail)})" if f.detail else ""
    head = f"The row exists already{detail}: the migration was partially applied before, or inserts rows that exist."
    hint = ctx.rewrite(f"{head} At {ctx.where()}, write:", insert_on_conflict_do_nothing(ctx.statement))
    if hint:
        return hint
    return Hint(
        f"{head} At {ctx.where()}, use INSERT ... ON CONFLICT DO NOTHING, or guard the statement in a DO $$ block.",
        LIKELY,
    )


def gone_already(ctx: Context) -> Hint | None:
    """A DROP or RENAME whose object (or old name) is gone: it ran already. None for other statements."""
    if not ctx.statement:
        return None
    rewritten = drop_if_exists(ctx.statement)
    if rewritten is not None:
        return ctx.rewrite(
            "It is gone already (an earlier run, or a change made by hand, dropped it), and a DROP without IF EXISTS "
            f"is not idempotent. At {ctx.where()}, write:",
            rewritten,
        )
    rewritten = guarded_rename(ctx.statement)
    if rewritten is not None:
        return ctx.rewrite(
            "The old name is gone, most likely because it was renamed already (a re-run, or the change was made by "
            "hand), and a RENAME is not idempotent; if the name never existed, check it for a typo. "
            f"At {ctx.where()}, write:",
            rewritten,
            confidence=LIKELY,
        )
    return None


def function_definition(ctx: Context) -> Hint:
    """42P13: CREATE OR REPLACE FUNCTION cannot change the return type, parameter names or defaults."""
    text = (
        "CREATE OR REPLACE cannot change an existing function's return type, its parameters' names or their "
        f"defaults: drop the old signature first. At {ctx.where()}, write"
    )
    hint = ctx.rewrite(
        text + " (a view or trigger using the function blocks the DROP: recreate it after):",
        drop_function_first(ctx.statement),
        confidence=LIKELY,
    )
    return hint or Hint(text + " DROP FUNCTION IF EXISTS name(argument types); before the CREATE OR REPLACE.", LIKELY)


def dependent_objects(ctx: Context) -> Hint:
    f = ctx.f
    dependents = "; ".join(line.strip() for line in f.detail.splitlines()[:5] if line.strip())
    listed = f" ({dependents})" if dependents else ""
    down = _DOWN_MARKER.search(ctx.before) or _DOWN_MARKER.search(ctx.statement)
    if down:
        return Hint(
            f"This statement is in the file's `-- migrate:down` section{listed}. The Supabase CLI has no down "
            "migrations: it runs the whole file as the migration, so the down section runs right after the up "
            f"section. Remove the down section from {f.file or 'the file'} (keep it elsewhere as a rollback script).",
            CERTAIN,
        )
    return Hint(
        f"Other objects depend on it{listed}: at {ctx.where()}, drop the dependent objects first in this migration and "
        "recreate them after the change. DROP ... CASCADE would drop them silently: destructive, needs explicit "
        "approval.",
        LIKELY,
    )


def table_definition(ctx: Context) -> Hint:
    """42P16 other than "multiple primary keys" (which is a re-run)."""
    message = ctx.f.message
    if "is in a primary key" in message:
        return Hint(
            f"At {ctx.where()} the column is part of the primary key, which needs NOT NULL: drop or change the "
            "primary key first (ALTER TABLE ... DROP CONSTRAINT <table>_pkey) if that is really intended.",
            LIKELY,
        )
    return Hint(
        f"PostgreSQL refused the table definition at {ctx.where()}. Check the statement against what the table "
        "already is (\\d in psql, or the table editor): column list, primary key, partitioning and inheritance.",
        CHECK,
    )
