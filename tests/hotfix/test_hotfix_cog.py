"""/hotfix through the cog callbacks with spec'd interaction fakes, on a real migrated database."""

from __future__ import annotations

import contextlib
import re
from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.chat.app import DragonflyBot
from dragonfly_bot.chat.errors import handle_app_command_error
from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.cogs.hotfix import ApproveButton, Hotfix
from dragonfly_bot.compose import build_services
from dragonfly_bot.core.hotfix import SQL_MAX_BYTES, SUMMARY_MAX, HotfixState
from dragonfly_bot.settings import Settings
from tests.fakes.helpers import (
    RecordingPoster,
    embed_text,
    file_text,
    last_ephemeral_text,
    make_interaction,
    make_member,
    sent_embeds,
    sent_files,
)
from tests.fakes.hotfix_support import copy_migrations, inline_outbox, migrate

HOTFIX_ROLE = 10
LEAD_ROLE = 20


@contextlib.asynccontextmanager
async def hotfix_bot(db, tmp_path):
    migrations = copy_migrations(tmp_path / "migrations")
    settings = Settings(
        _env_file=None,
        hotfix_role_id=HOTFIX_ROLE,
        devops_lead_role_id=LEAD_ROLE,
        migrations_dir=migrations,
        data_dir=tmp_path / "data",
    )
    poster = RecordingPoster()
    services = build_services(settings, db_url=db.url)
    bot = DragonflyBot(settings, services=services, poster=poster, serve_web=False, sync_commands=False)
    async with bot:  # initialised like the console does, without logging in
        bot.outbox = inline_outbox(poster, tmp_path / "data")
        await bot.add_cog(Hotfix(bot))
        yield bot, bot.get_cog("Hotfix"), poster, db, migrations
        await bot.remove_cog("Hotfix")


@pytest.fixture
async def setup(migrated_db, tmp_path):
    async with hotfix_bot(migrated_db, tmp_path) as parts:
        yield parts


@pytest.fixture
async def fresh_setup(scratch_db, tmp_path):
    """For tests that apply their own migrations with the CLI (it refuses versions it has not seen)."""
    migrate(scratch_db)
    async with hotfix_bot(scratch_db, tmp_path) as parts:
        yield parts


async def run(command, cog, interaction, **options) -> None:
    """Call a command callback the way the tree does, errors included."""
    try:
        await command.callback(cog, interaction, **options)
    except Exception as error:
        await handle_app_command_error(interaction, error)


def ephemeral(interaction) -> str:
    text = last_ephemeral_text(interaction)
    assert text is not None and "\n" not in text, text
    return text


def pings_nobody(mentions: discord.AllowedMentions) -> bool:
    return mentions.everyone is False and mentions.users is False and mentions.roles is False


def code_in(text: str) -> str:
    return re.search(r"HF-\d{4,}", text).group(0)


def attachment(name: str, data: bytes) -> MagicMock:
    file = MagicMock(spec=discord.Attachment)
    file.filename = name
    file.size = len(data)
    file.read = AsyncMock(return_value=data)
    return file


async def test_dev_lifecycle_through_the_cog(fresh_setup):
    bot, cog, poster, db, migrations = fresh_setup
    dana = make_member(name="dana", roles=[HOTFIX_ROLE])

    inter = make_interaction(user=dana, client=bot)
    await run(
        cog.declare,
        cog,
        inter,
        env="dev",
        summary="@everyone orders are slow, added an index",
        file=attachment("fix.sql", b"create index orders_idx on orders (created_at);"),
    )
    assert inter.events[0] == "defer"
    code = code_in(ephemeral(inter))
    assert "Declared" in ephemeral(inter) and pings_nobody(inter.sent[-1]["allowed_mentions"])
    [alert] = poster.posts_to("alerts")
    assert pings_nobody(alert["allowed_mentions"]) and alert["content"] is None  # user text never pings
    embed = alert["embeds"][0]
    assert "@everyone orders are slow" in embed_text(embed) and "create index orders_idx" in embed_text(embed)
    assert alert["thread_name"].startswith(code) and message_problems(alert["content"], alert["embeds"]) == []

    (migrations / "20251224000000_orders_idx.sql").write_text(
        "create table if not exists public.orders (id int, created_at timestamptz);\n"
        "create index if not exists orders_idx on public.orders (created_at);\n"
    )
    choices = await cog.link_file_autocomplete(inter, "orders")
    assert [c.value for c in choices] == ["20251224000000_orders_idx.sql"]
    inter = make_interaction(user=dana, client=bot)
    await run(cog.link, cog, inter, code=code.lower(), file="20251224000000_orders_idx.sql")
    assert "every statement declared" in embed_text(sent_embeds(inter)[0])

    assert migration_up(db.url, migrations).returncode == 0
    report = await cog.service.tick()
    assert report.synced == 1 and (await cog.service.tick()).synced == 0

    inter = make_interaction(user=make_member(name="olaf", roles=[HOTFIX_ROLE]), client=bot)
    await run(cog.resolve, cog, inter, code=code, review="index dropped by a bad deploy")
    assert ephemeral(inter).startswith("only the declarer (dana) or a DevOps lead")

    inter = make_interaction(user=dana, client=bot)
    await run(cog.resolve, cog, inter, code=code, review="index dropped by a bad deploy")
    assert ephemeral(inter) == f"{code} is resolved. Thank you for the review."
    inter = make_interaction(user=dana, client=bot)
    await run(cog.resolve, cog, inter, code=code, review="index dropped by a bad deploy")
    assert "already resolved" in ephemeral(inter)

    inter = make_interaction(user=dana, client=bot)
    await run(cog.show, cog, inter, code=code)
    timeline = embed_text(sent_embeds(inter)[0])
    for kind in ("declared", "migration_linked", "synced", "resolved"):
        assert kind in timeline
    inter = make_interaction(user=dana, client=bot)
    await run(cog.export, cog, inter, format="csv")
    assert f"{code},dev,resolved" in file_text(sent_files(inter)[0])
    inter = make_interaction(user=dana, client=bot)
    await run(cog.list_, cog, inter, state="resolved", env="dev")
    assert code in embed_text(sent_embeds(inter)[0])


async def test_prod_approval_button(setup):
    bot, cog, poster, _, _ = setup
    lee = make_member(name="lee", roles=[LEAD_ROLE])
    inter = make_interaction(user=lee, client=bot)
    await run(cog.declare, cog, inter, env="prod", summary="kill a stuck lock", sql="select pg_cancel_backend(7);")
    code = code_in(ephemeral(inter))
    assert "Do not touch prod until a DevOps lead approves" in ephemeral(inter)
    [alert] = poster.posts_to("alerts")
    assert alert["content"].startswith(f"<@&{LEAD_ROLE}>")
    mentions = alert["allowed_mentions"]
    assert [r.id for r in mentions.roles] == [LEAD_ROLE] and mentions.everyone is False and mentions.users is False
    [button] = alert["view"].children
    assert isinstance(button, ApproveButton) and button.custom_id == f"hotfix:approve:{code}"

    press = make_interaction(user=lee, client=bot)
    await button.callback(press)
    assert ephemeral(press) == f"you declared {code}; another DevOps lead must approve it"
    press = make_interaction(user=make_member(name="dana", roles=[HOTFIX_ROLE]), client=bot)
    await button.callback(press)
    assert ephemeral(press) == "only a DevOps lead can approve a prod hotfix"

    # After a restart the button is rebuilt from its custom id alone.
    rebuilt = await ApproveButton.from_custom_id(
        press, button.item, re.match(ApproveButton.__discord_ui_compiled_template__, button.custom_id)
    )
    press = make_interaction(user=make_member(name="lou", roles=[LEAD_ROLE]), client=bot)
    await rebuilt.callback(press)
    assert press.events[:2] == ["defer", "edit_original_response"]
    assert press.sent[0] == {"via": "original.edit", "view": None}
    assert ephemeral(press) == f"You approved {code}; the declarer can go ahead in prod."
    assert (await cog.service.get(code)).state is HotfixState.APPROVED
    assert any("approved by lou" in (r["embeds"][0].title or "") for r in poster.replies)

    press = make_interaction(user=make_member(name="lou", roles=[LEAD_ROLE]), client=bot)
    await rebuilt.callback(press)
    assert ephemeral(press) == f"{code} is not awaiting approval (it is approved)"


async def test_bad_input_gets_one_line(setup):
    bot, cog, poster, _, _ = setup
    dana = make_member(name="dana", roles=[HOTFIX_ROLE])
    nobody = make_member(name="olaf")
    cases = [
        (cog.declare, nobody, {"env": "dev", "summary": "x"}, "declaring a hotfix needs the hotfix role"),
        (cog.declare, dana, {"env": "dev", "summary": "x" * (SUMMARY_MAX + 1)}, f"keep it to {SUMMARY_MAX}"),
        (
            cog.declare,
            dana,
            {"env": "dev", "summary": "x", "sql": "select 1", "file": attachment("a.sql", b"select 2")},
            "not both",
        ),
        (
            cog.declare,
            dana,
            {"env": "dev", "summary": "x", "file": attachment("a.txt", b"select 2")},
            "not a .sql file",
        ),
        (
            cog.declare,
            dana,
            {"env": "dev", "summary": "x", "file": attachment("a.sql", b"-" * (SQL_MAX_BYTES + 1))},
            "the limit is",
        ),
        (cog.declare, dana, {"env": "dev", "summary": "x", "file": attachment("a.sql", b"\xff\xfe")}, "not UTF-8"),
        (
            cog.declare,
            dana,
            {"env": "dev", "summary": "x", "file": attachment("a.sql", b"select 1;\x00\x00")},
            "contains a control character (byte 0x00",
        ),
        (cog.declare, dana, {"env": "dev", "summary": "x", "sql": "select 1;\x00"}, "so it is not text"),
        (
            cog.accept,
            make_member(name="lee", roles=[LEAD_ROLE]),
            {"code": "HF-9999", "reason": "the differences are fine"},
            "there is no hotfix HF-9999",
        ),
        (cog.show, dana, {"code": "HF-9999"}, "there is no hotfix HF-9999"),
        (cog.show, dana, {"code": "drop table x"}, "is not a hotfix code"),
        (cog.approve, make_member(name="lee", roles=[LEAD_ROLE]), {"code": "nope"}, "is not a hotfix code"),
        (cog.export, dana, {"format": "pdf"}, "unknown export format"),
        (cog.list_, dana, {"state": "lost"}, "unknown state"),
    ]
    for command, user, options, expected in cases:
        inter = make_interaction(user=user, client=bot)
        await run(command, cog, inter, **options)
        assert expected in ephemeral(inter), (options, inter.sent)
    assert poster.sent == []  # nothing reached #alerts

    inter = make_interaction(user=dana, client=bot)
    await run(cog.declare, cog, inter, env="dev", summary="dev only", sql=None)
    code = code_in(ephemeral(inter))
    inter = make_interaction(user=make_member(name="lee", roles=[LEAD_ROLE]), client=bot)
    await run(cog.approve, cog, inter, code=code)
    assert ephemeral(inter) == f"{code} is a dev hotfix: dev hotfixes need no approval"
    inter = make_interaction(user=dana, client=bot)
    await run(cog.link, cog, inter, code=code, file="20990101000000_nothing.sql")
    assert "is not a migration" in ephemeral(inter)


async def test_store_down_declaration_is_journaled_and_the_user_told(setup, tmp_path):
    bot, cog, poster, _db, _ = setup
    from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore

    real = cog.service.store
    cog.service.store = PostgresHotfixStore("postgresql://postgres@127.0.0.1:1/postgres")
    inter = make_interaction(user=make_member(name="dana", roles=[HOTFIX_ROLE]), client=bot)
    await run(cog.declare, cog, inter, env="dev", summary="declared during an outage")
    assert "saved in the bot's journal" in ephemeral(inter)
    assert "code pending" in poster.posts_to("alerts")[0]["embeds"][0].title
    cog.service.store = real
    assert (await cog.service.tick()).replayed == 1
    assert (await cog.service.tick()).replayed == 0
    assert len([h for h in await real.list() if h.summary == "declared during an outage"]) == 1


async def test_applied_with_differences_then_accepted_through_the_cog(fresh_setup):
    bot, cog, poster, db, migrations = fresh_setup
    dana, lee = make_member(name="dana", roles=[HOTFIX_ROLE]), make_member(name="lee", roles=[LEAD_ROLE])
    inter = make_interaction(user=dana, client=bot)
    sql = "update public.plans set trial_days = 14 where id = 1;\ncreate index if not exists plans_idx on plans (id);"
    await run(cog.declare, cog, inter, env="dev", summary="trials too short", sql=sql)
    code = code_in(ephemeral(inter))
    (migrations / "20251230000000_plans.sql").write_text(
        f"-- hotfix: {code}\ncreate table if not exists public.plans (id int primary key, trial_days int);\n"
        "update public.plans set trial_days = 14 where id = 1;\n"
    )
    assert migration_up(db.url, migrations).returncode == 0
    assert (await cog.service.tick()).synced == 0

    inter = make_interaction(user=dana, client=bot)
    await run(cog.show, cog, inter, code=code)
    shown = embed_text(sent_embeds(inter)[0])
    assert "applied with differences" in shown and "plans_idx" in shown

    inter = make_interaction(user=dana, client=bot)
    await run(cog.accept, cog, inter, code=code, reason="the index is not needed in dev")
    assert ephemeral(inter) == f"only a DevOps lead can accept the differences of {code}"
    inter = make_interaction(user=lee, client=bot)
    await run(cog.accept, cog, inter, code=code, reason="the index is not needed in dev")
    assert ephemeral(inter) == f"You accepted the differences of {code}; it is synced."
    assert (await cog.service.get(code)).state is HotfixState.SYNCED
    assert any("differences accepted by lee" in (r["embeds"][0].title or "") for r in poster.replies)
