"""Rejecting and cancelling hotfixes, idempotent event appends, and literal-aware migration checks.

On the real PostgreSQL with the tables made by the Supabase CLI (both hotfix
migrations), acting as service_role; the REST cases go through the
PostgREST-shaped fake backed by the same database.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
import respx

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.adapters.supabase.hotfix_rest import RestHotfixStore
from dragonfly_bot.adapters.supabase.hotfix_store import new_event_id
from dragonfly_bot.core import hotfix as rules
from dragonfly_bot.core.hotfix import HotfixRefused, HotfixState
from dragonfly_bot.core.hotfix_sql import compare_statements, link_findings
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.hotfix.render_discord import findings_lines, show_embed
from tests.fakes.helpers import RecordingPoster, embed_text, make_interaction, make_member, sent_embeds
from tests.fakes.hotfix_support import DEV, LEAD, LEAD2, NOBODY, T0, Clock, copy_migrations, make_service, migrate
from tests.fakes.postgrest_sql_fake import PostgrestOverPostgres
from tests.hotfix.test_hotfix_cog import HOTFIX_ROLE, LEAD_ROLE, code_in, ephemeral, hotfix_bot, run
from tests.hotfix.test_hotfix_console import console
from tests.hotfix.test_hotfix_service import CLOSED_PORT_URL

CLOSE_MIGRATION = Path("supabase/migrations/20251210120000_hotfix_cancel.sql")
URL = "https://abcd.supabase.co"
KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl"


@pytest.fixture(scope="module")
def db(migrated_db):
    return migrated_db


def query(db_url: str, sql: str, *params):
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def events_of(db_url: str, hotfix_id: str) -> list[str]:
    return [
        r[0]
        for r in query(db_url, "select kind from public.hotfix_events where hotfix_id = %s order by at, id", hotfix_id)
    ]


# --------------------------------------------------------------------------- the migration


async def test_close_migration_applies_twice_and_only_service_role_may_call_it(db, tmp_path):
    hotfix = (
        await make_service(db.url, tmp_path, RecordingPoster()).declare(DEV, "dev", "before the re-run", None)
    ).hotfix
    with psycopg.connect(db.url, autocommit=True) as conn:
        for _ in range(2):  # the CLI applied it once already: this is the second and third time
            conn.execute(CLOSE_MIGRATION.read_text())
        for signature in (
            "public.close_hotfix(uuid,text[],text,text,text,text,timestamptz,uuid)",
            "public.append_hotfix_event(uuid,text,text,text,jsonb,timestamptz,uuid)",
        ):
            allowed = dict(
                conn.execute(
                    "select r, has_function_privilege(r, %s, 'execute') from "
                    "unnest(array['anon','authenticated','service_role']) r",
                    (signature,),
                ).fetchall()
            )
            assert allowed == {"anon": False, "authenticated": False, "service_role": True}, signature
        # One append_hotfix_event (the old six-argument one was replaced, not overloaded).
        assert conn.execute("select count(*) from pg_proc where proname = 'append_hotfix_event'").fetchone()[0] == 1
        assert conn.execute("select state from public.hotfixes where id = %s", (hotfix.id,)).fetchone()[0] == "declared"
        with pytest.raises(psycopg.errors.CheckViolation):  # closed without a reason
            conn.execute("update public.hotfixes set state = 'cancelled' where id = %s", (hotfix.id,))
        with pytest.raises(psycopg.errors.CheckViolation):  # no such state
            conn.execute("update public.hotfixes set state = 'abandoned' where id = %s", (hotfix.id,))


# --------------------------------------------------------------------------- rules (pure)


def _stored(actor, env, **changes):
    new = rules.declare(actor, env, "x", None, now=T0, reminder_hours=4)
    data = {
        **new.to_json(),
        "code": "HF-0001",
        "declared_at": new.declared_at,
        "next_reminder_at": new.next_reminder_at,
    }
    return rules.Hotfix.from_mapping(
        {**data, **{k: (v.value if isinstance(v, HotfixState) else v) for k, v in changes.items()}}
    )


def test_who_may_reject_and_cancel():
    prod = _stored(LEAD, "prod")
    reason = "not during the payment window"
    assert rules.check_reject(prod, LEAD2, reason) == reason
    with pytest.raises(HotfixRefused, match="to withdraw it use `/hotfix cancel HF-0001`"):
        rules.check_reject(prod, LEAD, reason)  # the declarer (even a lead) cannot reject their own
    with pytest.raises(HotfixRefused, match="only a DevOps lead can reject"):
        rules.check_reject(prod, DEV, reason)
    with pytest.raises(HotfixRefused, match="reason is required"):
        rules.check_reject(prod, LEAD2, "no")
    with pytest.raises(HotfixRefused, match="dev hotfix"):
        rules.check_reject(_stored(DEV, "dev"), LEAD2, reason)
    with pytest.raises(HotfixRefused, match=r"not awaiting approval .*cancel it instead"):
        rules.check_reject(_stored(LEAD, "prod", state=HotfixState.APPROVED), LEAD2, reason)

    dev = _stored(DEV, "dev")
    assert rules.check_cancel(dev, DEV, "the SQL was never run") == "the SQL was never run"
    assert rules.check_cancel(dev, LEAD, "the SQL was never run")
    with pytest.raises(HotfixRefused, match=r"only the declarer \(dana\) or a DevOps lead can cancel"):
        rules.check_cancel(dev, NOBODY, "the SQL was never run")
    with pytest.raises(HotfixRefused, match="reason is required"):
        rules.check_cancel(dev, DEV, " ")
    with pytest.raises(HotfixRefused, match=r"is synced .*/hotfix resolve"):
        rules.check_cancel(_stored(DEV, "dev", state=HotfixState.SYNCED), DEV, "the SQL was never run")
    cancelled = _stored(DEV, "dev", state=HotfixState.CANCELLED, closed_by_name="dana")
    for check in (rules.check_cancel, rules.check_resolve):
        with pytest.raises(HotfixRefused, match=r"already cancelled \(by dana\): it is closed"):
            check(cancelled, DEV, "the SQL was never run")
    assert rules.due_reminder(cancelled, T0 + timedelta(days=3), 4) is None


def test_same_shape_with_other_values_is_reported_apart_from_missing():
    declared = (
        "update settings set flag = true where id = 1;\n"
        "UPDATE  Settings SET limit_mb = 50 WHERE id = 2; -- run twice\n"
        "create index a_idx on a (x);\n"
        "delete from jobs where id = 7;"
    )
    migration = (
        "update public.settings set flag = false where id = 1;\n"  # other value
        "update settings set limit_mb = 50 where id = 2;\n"  # same, spelled otherwise
        "create index if not exists a_idx on public.a (x);\n"
    )
    compared = compare_statements(declared, migration)
    assert compared.missing == ["delete from jobs where id = 7"]
    assert [d["declared"] for d in compared.different_values] == ["update settings set flag = true where id = 1"]
    assert compared.different_values[0]["migration"] == ["update public.settings set flag = false where id = 1"]

    findings = link_findings(
        "update settings set flag = true where id = 1;", "update settings set flag = false where id = 1;"
    )
    assert findings["missing"] == [] and len(findings["different_values"]) == 1
    lines = "\n".join(findings_lines(_stored(DEV, "dev", link_findings=findings)))
    assert "same shape but different values" in lines and "flag = false" in lines
    assert "contains every statement" not in lines
    same = link_findings(
        "update settings set flag = true where id = 1;", "UPDATE settings SET flag = TRUE WHERE id = 1;"
    )
    assert same["different_values"] == [] and same["missing"] == []


# --------------------------------------------------------------------------- the service on PostgreSQL


async def test_a_lead_rejects_a_prod_hotfix(db, tmp_path):
    clock = Clock(T0 - timedelta(days=400))  # older than every other hotfix here: reminders are only this one's
    poster = RecordingPoster()
    service = make_service(db.url, tmp_path, poster, clock=clock)
    hotfix = (await service.declare(DEV, "prod", "drop a stuck index in prod", "drop index orders_idx;")).hotfix
    alert = poster.posts_to("alerts")[0]

    with pytest.raises(UserFacingError, match="only a DevOps lead can reject"):
        await service.reject(DEV, hotfix.code, "because it is risky")
    with pytest.raises(UserFacingError, match="reason is required"):
        await service.reject(LEAD, hotfix.code, "")
    clock.advance(hours=1)
    rejected = await service.reject(LEAD, hotfix.code, "use the online index tool instead")
    assert rejected.state is HotfixState.REJECTED and rejected.closed_by_name == "lee"
    assert rejected.closed_reason == "use the online index tool instead" and rejected.next_reminder_at is None

    with pytest.raises(UserFacingError, match="already rejected"):
        await service.approve(LEAD2, hotfix.code)  # the Approve button still on the post says so too
    with pytest.raises(UserFacingError, match="already rejected"):
        await service.reject(LEAD2, hotfix.code, "use the online index tool instead")

    # The #alerts post now shows it closed, and the thread says why.
    edited = poster.edits[-1]
    assert edited["ref"].message_id == alert["ref"].message_id
    assert edited["embeds"][0].title == f"Hotfix {hotfix.code} in prod: rejected"
    assert "use the online index tool" in embed_text(edited["embeds"][0])
    assert poster.replies[-1]["embeds"][0].title == f"⛔ {hotfix.code} rejected by lee"

    clock.advance(days=2)  # no reminders for a closed hotfix
    assert await service.send_due_reminders() == 0
    assert events_of(db.url, hotfix.id) == ["declared", "rejected"]

    listed = await service.list(state="rejected", environment="prod")
    assert hotfix.code in {h.code for h in listed}
    stored, events = await service.show(hotfix.code)
    text = embed_text(show_embed(stored, events, clock()))
    assert "⛔ rejected" in text and "Rejected by lee" in text and "Open for" in text
    assert "rejected by lee: use the online index tool instead" in text
    _, markdown = await service.export("markdown")
    assert "- Rejected by lee at " in markdown and "rejected: use the online index tool instead" in markdown
    _, csv_text = await service.export("csv")
    row = next(line for line in csv_text.splitlines() if line.startswith(f"{hotfix.code},prod,rejected"))
    assert row.endswith(",lee," + stored.closed_at.isoformat() + ",use the online index tool instead")


async def test_cancel_from_any_unsynced_state_stops_auto_link_and_reminders(db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    clock = Clock(T0 - timedelta(days=500))
    poster = RecordingPoster()
    service = make_service(db.url, tmp_path / "data", poster, clock=clock, migrations_dir=migrations)
    never_run = (await service.declare(DEV, "dev", "SQL typed but never run", "select 1;")).hotfix
    linked = (await service.declare(DEV, "dev", "linked, then abandoned", None)).hotfix
    await service.link(DEV, linked.code, "20251209000000_migration_status_view.sql")

    with pytest.raises(UserFacingError, match="only the declarer"):
        await service.cancel(NOBODY, never_run.code, "the SQL was never run in Studio")
    with pytest.raises(UserFacingError, match="reason is required"):
        await service.cancel(DEV, never_run.code, "")
    cancelled = await service.cancel(DEV, never_run.code, "the SQL was never run in Studio")
    assert cancelled.state is HotfixState.CANCELLED and cancelled.closed_by_name == "dana"
    assert (await service.cancel(LEAD, linked.code, "superseded by a proper migration")).state is HotfixState.CANCELLED
    assert poster.replies[-1]["embeds"][0].title == f"🚫 {linked.code} cancelled by lee"

    # A migration naming the cancelled hotfix appears later: it is not linked, nothing is announced.
    (migrations / f"20251215000000_hf_{never_run.code[3:]}.sql").write_text("select 1;\n")
    before = len(poster.replies)
    report = await service.tick()
    assert (report.linked, report.synced) == (0, 0)  # the linked one is cancelled too: never marked synced
    clock.advance(days=3)
    assert await service.send_due_reminders() == 0
    assert len(poster.replies) == before
    with pytest.raises(UserFacingError, match="already cancelled"):
        await service.resolve(DEV, never_run.code, "the SQL was never run in Studio")
    assert events_of(db.url, never_run.id) == ["declared", "cancelled"]
    assert events_of(db.url, linked.id) == ["declared", "migration_linked", "cancelled"]
    assert {h.code for h in await service.list(state="cancelled")} >= {never_run.code, linked.code}


async def test_a_synced_hotfix_cannot_be_cancelled(db, tmp_path):
    service = make_service(db.url, tmp_path, RecordingPoster())
    hotfix = (await service.declare(DEV, "dev", "synced one", None)).hotfix
    await service.link(DEV, hotfix.code, "20251209000000_migration_status_view.sql")
    await service.sync_check()
    assert (await service.get(hotfix.code)).state is HotfixState.SYNCED
    with pytest.raises(UserFacingError, match=r"is synced .*/hotfix resolve"):
        await service.cancel(DEV, hotfix.code, "changed our minds about it")


async def test_a_retried_close_or_append_stores_one_event(db, tmp_path):
    service = make_service(db.url, tmp_path, RecordingPoster())
    hotfix = (await service.declare(DEV, "dev", "retried close", None)).hotfix
    store = PostgresHotfixStore(db.url, role="service_role")
    event_id = new_event_id()
    first = await store.close(hotfix.id, ["declared"], "cancelled", "never run", DEV, T0, event_id)
    again = await store.close(hotfix.id, ["declared"], "cancelled", "never run", DEV, T0, event_id)
    assert first.state is again.state is HotfixState.CANCELLED  # the retry sees its own change, not "changed meanwhile"
    assert await store.close(hotfix.id, ["declared"], "cancelled", "never run", DEV, T0, new_event_id()) is None
    note = new_event_id()
    for _ in range(3):
        await store.append_event(hotfix.id, "note", DEV, {"note": "asked in #engineering"}, T0, note)
    await store.append_event(hotfix.id, "note", DEV, {"note": "a second, different note"}, T0)
    assert events_of(db.url, hotfix.id) == ["declared", "cancelled", "note", "note"]
    with pytest.raises(Exception, match="rejected or cancelled"):
        await store.close(hotfix.id, ["cancelled"], "resolved", "x" * 10, DEV, T0, new_event_id())


def _loses_first_answers(fake: PostgrestOverPostgres, function: str, times: int):
    """PostgREST that runs ``function`` but whose answer is lost ``times`` times (a gateway 502, then the retry)."""
    lost = {"left": times}

    def answer(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        if request.url.path.endswith(f"/rpc/{function}") and lost["left"]:
            lost["left"] -= 1
            return httpx.Response(502, json={"message": "upstream timed out"})
        return response

    return answer


@pytest.mark.parametrize("function", ["append_hotfix_event", "close_hotfix"])
async def test_rest_retry_after_a_lost_answer_stores_the_event_once(db, tmp_path, function):
    fake = PostgrestOverPostgres(db.url, KEY)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="abcd.supabase.co").mock(side_effect=_loses_first_answers(fake, function, times=2))
        async with httpx.AsyncClient() as client:
            store = RestHotfixStore(client, URL, KEY, backoff=0.001, retries=3)
            service = make_service(db.url, tmp_path, RecordingPoster(), store=store)
            hotfix = (await service.declare(LEAD, "prod", f"lost answers to {function}", None)).hotfix
            if function == "close_hotfix":
                rejected = await service.reject(LEAD2, hotfix.code, "not without a rollback plan")
                assert rejected.state is HotfixState.REJECTED
            else:
                await store.append_event(hotfix.id, "note", LEAD, {"note": "paged the on-call DBA"}, T0)
    calls = [r for r in fake.requests if r.url.path.endswith(f"/rpc/{function}")]
    assert len(calls) == 3 and len({json.loads(r.content)["p_event_id"] for r in calls}) == 1
    expected = "rejected" if function == "close_hotfix" else "note"
    assert events_of(db.url, hotfix.id) == ["declared", expected]


# --------------------------------------------------------------------------- the cog and the console


async def test_reject_and_cancel_through_the_cog(db, tmp_path):
    async with hotfix_bot(db, tmp_path) as (bot, cog, poster, _, _):
        lee, lou = make_member(name="lee", roles=[LEAD_ROLE]), make_member(name="lou", roles=[LEAD_ROLE])
        dana = make_member(name="dana", roles=[HOTFIX_ROLE])
        inter = make_interaction(user=lee, client=bot)
        await run(cog.declare, cog, inter, env="prod", summary="@everyone truncate the queue", sql="truncate jobs;")
        prod = code_in(ephemeral(inter))

        for user, command, options, expected in (
            (lee, cog.reject, {"reason": "not without a backup"}, f"you declared {prod}; to withdraw it use"),
            (dana, cog.reject, {"reason": "not without a backup"}, "only a DevOps lead can reject a prod hotfix"),
            (lou, cog.reject, {"reason": "meh"}, "the reason is required (at least 10 characters)"),
            (
                lou,
                cog.reject,
                {"reason": "not without a backup"},
                f"You rejected {prod}; the declarer must not touch prod",
            ),
            (
                lee,
                cog.cancel,
                {"reason": "rejected anyway, closing"},
                f"{prod} is already rejected (by lou): it is closed",
            ),
        ):
            inter = make_interaction(user=user, client=bot)
            await run(command, cog, inter, code=prod, **options)
            assert ephemeral(inter).startswith(expected), (options, ephemeral(inter))
        reply = poster.replies[-1]
        assert reply["embeds"][0].title == f"⛔ {prod} rejected by lou"
        assert reply["allowed_mentions"].everyone is False and reply["allowed_mentions"].roles is False

        inter = make_interaction(user=dana, client=bot)
        await run(cog.declare, cog, inter, env="dev", summary="never ran it", sql="select 1;")
        dev = code_in(ephemeral(inter))
        inter = make_interaction(user=make_member(name="olaf", roles=[HOTFIX_ROLE]), client=bot)
        await run(cog.cancel, cog, inter, code=dev, reason="the SQL was never run in Studio")
        assert ephemeral(inter) == f"only the declarer (dana) or a DevOps lead can cancel {dev}"
        inter = make_interaction(user=dana, client=bot)
        await run(cog.cancel, cog, inter, code=dev, reason="the SQL was never run in Studio")
        assert ephemeral(inter) == f"{dev} is cancelled; its reminders have stopped."
        inter = make_interaction(user=dana, client=bot)
        await run(cog.list_, cog, inter, state="cancelled", env="dev")
        assert dev in embed_text(sent_embeds(inter)[0])


async def test_console_runs_the_follow_up_itself(scratch_db, tmp_path):
    """Auto-link and sync are announced in `dragonfly-bot console` with no tick called by hand."""
    migrate(scratch_db)
    migrations = copy_migrations(tmp_path / "migrations")
    # CI already applied a migration naming HF-0001 (the first code of this fresh database).
    (migrations / "20251216000000_jobs_status.sql").write_text(
        "-- hotfix: HF-0001\n"
        "create table if not exists public.jobs (id int);\n"
        "alter table public.jobs add column if not exists status text;\n"
    )
    assert migration_up(scratch_db.url, migrations).returncode == 0
    out = console(
        [
            '/hotfix declare env:dev summary:"jobs need a status" '
            'sql:"alter table public.jobs add column status text;"',
            '/hotfix declare env:prod summary:"reindex in prod"',
            '/hotfix reject HF-0002 reason:"reject my own"',
            '/hotfix cancel HF-0002 reason:"the SQL was never run in Studio"',
            "/hotfix list",
            "/hotfix show HF-0001",
        ],
        db_url=scratch_db.url,
        tmp=tmp_path,
        migrations=migrations,
        user_id=1,
        name="dana",
    )
    declared_at = out.index("Declared HF-0001 (dev)")
    linked_at = out.index("🔗 HF-0001: migration found automatically")
    synced_at = out.index("🔄 HF-0001 synced")
    second = out.index("> /hotfix declare env:prod")
    assert declared_at < linked_at < synced_at < second  # right after the command, before the next one
    assert out.count("🔄 HF-0001 synced") == 1 and "every statement declared" in out
    assert "you declared HF-0002; to withdraw it use `/hotfix cancel HF-0002`" in out
    assert "HF-0002 is cancelled; its reminders have stopped." in out and "🚫 HF-0002 cancelled by dana" in out
    assert "Hotfix HF-0002 in prod: cancelled" in out  # the #alerts post, edited
    assert "HF-0002 · prod · 🚫 cancelled · dana" in out and "HF-0001 · dev · 🔄 synced · dana" in out
    assert "migration_linked by dragonfly-bot" in out.split("> /hotfix show HF-0001", 1)[1]


async def test_a_store_that_stays_down_is_warned_about_once_not_every_tick(tmp_path, caplog):
    service = make_service(CLOSED_PORT_URL, tmp_path, RecordingPoster(), store=PostgresHotfixStore(CLOSED_PORT_URL))
    with caplog.at_level("DEBUG", logger="dragonfly_bot.hotfix.service"):
        for _ in range(3):  # e.g. the console, after every command
            await service.tick()
    warned = [r for r in caplog.records if "synced step skipped" in r.getMessage()]
    assert [r.levelname for r in warned] == ["WARNING", "DEBUG", "DEBUG"]
