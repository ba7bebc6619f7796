"""The relay's posts as Discord holds them (simcord): the real bot's outbox and DiscordPoster, discord.py's
own HTTP layer, a local GitHub, and a real Supabase CLI failure in a long DO block."""

from __future__ import annotations

import shutil

import pytest

from dragonfly_bot.adapters.github import GitHubClient
from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.adapters.state.ledger import Ledger
from dragonfly_bot.chat.limits import message_problems
from dragonfly_bot.core.ci_runs import RunInfo
from dragonfly_bot.relay.render_discord import ERROR_WIDTH
from dragonfly_bot.relay.service import Relay
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub, github_log
from tests.fakes.team_guild import team_guild

DO_FILE = "20991212000001_rs_backfill_tiers.sql"
# A 70-line DO block whose leading comments alone would fill the embed; the typo is on line 70.
DO_SQL = "\n".join(
    [
        "create table if not exists public.rs_tiers (id int, name text);",
        "",
        "-- Backfill the tier names.",
        *[f"-- note {i}: why the backfill runs in one block, at some length" for i in range(10)],
        "do $$",
        "declare",
        "  n int;",
        "begin",
        *[f"  -- step {i}" for i in range(50)],
        "  select count(*) into n from public.rs_tiers;",
        "  if n > 0 then",
        "    update public.rs_tiers set name = 'standard tier for every customer' wher id = 1;",
        "  end if;",
        "end",
        "$$;",
        "",
    ]
)
TYPO_LINE = 70
# The same shape failing at run time (no position from Postgres): the statement's first line is marked.
CALL_FILE = "20991212000002_rs_count_tiers.sql"
CALL_SQL = "\n".join(
    [
        "create table if not exists public.rs_counts (id int);",
        "",
        *[f"-- note {i}: why the count runs in one block" for i in range(10)],
        "do $$",
        "begin",
        *[f"  -- step {i}" for i in range(40)],
        "  perform public.rs_missing_counter(1);",
        "end",
        "$$;",
        "",
    ]
)
CALL_DO_LINE = 13


def real_cli_output(scratch_databases, repo_migrations_dir, folder, file: str, text: str, sqlstate: str) -> str:
    db = scratch_databases()
    migrations = folder / "migrations"
    shutil.copytree(repo_migrations_dir, migrations)
    (migrations / file).write_text(text)
    result = migration_up(db.url, migrations)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and f"SQLSTATE {sqlstate}" in output, output
    return output


@pytest.fixture(scope="module")
def do_block_output(scratch_databases, repo_migrations_dir, tmp_path_factory) -> str:
    assert DO_SQL.splitlines()[TYPO_LINE - 1].strip().startswith("update public.rs_tiers")
    folder = tmp_path_factory.mktemp("do-block")
    return real_cli_output(scratch_databases, repo_migrations_dir, folder, DO_FILE, DO_SQL, "42601")


@pytest.fixture
async def github():
    fake = await FakeGitHub().start()
    client = GitHubClient(TOKEN, REPO, "supabase-migrate.yml", api_url=fake.url, retry=0)
    yield fake, client
    client.close()
    await fake.stop()


def relay_of(guild, client, tmp_path) -> Relay:
    """A relay posting through the running bot's own outbox (so through discord.py to simcord)."""
    outbox = guild.env.bot.outbox
    assert outbox is not None
    return Relay(client=client, ledger=Ledger(tmp_path / "ledger.db"), outbox=outbox, workflow="supabase-migrate.yml")


async def relayed(relay: Relay, run: RunInfo) -> str:
    outcome = await relay.handle(run)
    await relay.outbox.drain()
    return outcome


def alerts(guild) -> list:
    """The relay's posts in #alerts (a replied "green again" line has no embed), oldest first."""
    return [m for m in guild.history("alerts") if m.embeds]


def fields(embed) -> dict[str, str]:
    return {f.name: f.value for f in embed.fields}


async def test_the_long_do_block_post_shows_the_failing_line_and_fits_the_embed(github, do_block_output, tmp_path):
    fake, client = github
    payload = fake.add_run(2101, env="prod", log=github_log(do_block_output))
    payload["head_branch"] = "release/tiers"  # a prod run dispatched from a branch
    fake.files[(f"supabase/migrations/{DO_FILE}", payload["head_sha"])] = DO_SQL
    async with team_guild(tmp_path / "data") as guild:
        relay = relay_of(guild, client, tmp_path)
        assert await relayed(relay, RunInfo.from_api(payload)) == "posted"
        [message] = alerts(guild)
        [embed] = message.embeds
        f = fields(embed)
        # File as file:line (the error's own line), and the statement in words, not "Statement 1".
        assert f["File"] == f"`{DO_FILE}:{TYPO_LINE}` · statement 2 of 2, line 14"
        # The failing line, marked, with its caret under "wher", and a few lines around it; no leading comments.
        where = f["Where"].removeprefix("```sql\n").removesuffix("\n```").splitlines()
        marked = [row for row in where if row.startswith(">")]
        assert marked == [f"> {TYPO_LINE} | {DO_SQL.splitlines()[TYPO_LINE - 1]}"]
        caret = where[where.index(marked[0]) + 1]
        assert caret.strip() == "^" and caret.index("^") == marked[0].index("wher")
        assert [row.split("|")[0].strip(" >") for row in where if "|" in row] == [str(n) for n in range(67, 74)]
        assert "note 0" not in f["Where"] and "Backfill" not in f["Where"]
        # The ERROR line wrapped for the embed's narrow code block; the Fix is advice, not the error again.
        error = embed.description.removeprefix("```\n").removesuffix("\n```")
        assert all(len(row) <= ERROR_WIDTH for row in error.splitlines())
        assert " ".join(error.split()) == 'ERROR: syntax error at or near "wher" (SQLSTATE 42601)'
        fix = f["Fix (likely)"]
        assert 'syntax error at or near "wher"' not in fix and "SQLSTATE" not in fix
        column = DO_SQL.splitlines()[TYPO_LINE - 1].index("wher") + 1
        assert f"line {TYPO_LINE}, column {column}" in fix
        # The failed job's step, and the branch the prod run came from.
        job = next(j for j in fake.jobs[(2101, 1)] if j["conclusion"] == "failure")
        assert f["Failed step"] == f"[Apply migrations]({job['html_url']}#step:2:1)"
        assert f["Branch"] == "`release/tiers`"
        assert message_problems(message.content, message.embeds) == []
        assert guild.env.errors == []


async def test_red_red_green_in_the_channel_every_alert_shows_fixed(github, tmp_path):
    fake, client = github
    log = github_log("npm warn deprecated\nKilled\n")
    async with team_guild(tmp_path / "data") as guild:
        relay = relay_of(guild, client, tmp_path)
        assert await relayed(relay, RunInfo.from_api(fake.add_run(2201, log=log))) == "posted"
        assert await relayed(relay, RunInfo.from_api(fake.add_run(2202, log=log))) == "posted"
        green = fake.add_run(2203, conclusion="success", sha="c0ffee" + "0" * 34, message="fix: the tiers")
        assert await relayed(relay, RunInfo.from_api(green)) == "fixed"
        first, second = alerts(guild)
        for message in (first, second):
            [embed] = message.embeds
            assert embed.title == "✅ Fixed: Supabase Migrations failed on dev"
            assert fields(embed)["Fixed by"].startswith("`c0ffee0` fix: the tiers")
            assert [a.filename for a in message.attachments] == [f"migration-run-{message_run(message)}-attempt-1.txt"]
        [reply] = [m for m in guild.history("alerts") if not m.embeds]
        assert reply.reference is not None and reply.reference.message_id == second.id
        assert "2 failure alerts marked fixed" in reply.content


def message_run(message) -> int:
    return int(fields(message.embeds[0])["Run"].split("run ", 1)[1].split(",", 1)[0])


async def test_green_then_a_late_red_is_posted_as_superseded_without_a_ping(github, tmp_path):
    fake, client = github
    async with team_guild(tmp_path / "data") as guild:
        relay = relay_of(guild, client, tmp_path)
        relay.discord_users = {"octocat": guild.you.id}
        green = fake.add_run(2302, conclusion="success", sha="beef00" + "0" * 34, message="fix: the tiers")
        assert await relayed(relay, RunInfo.from_api(green)) == "green"
        late = fake.add_run(2301, log=github_log("Killed\n"))
        assert await relayed(relay, RunInfo.from_api(late)) == "posted as superseded"
        [message] = alerts(guild)
        assert message.content == "" and message.mentions == []
        [embed] = message.embeds
        assert embed.title == "⏭️ Superseded: Supabase Migrations failed on dev"
        assert fields(embed)["Already green"].startswith("`beef000` fix: the tiers")


async def test_a_rerun_edit_in_the_channel_keeps_a_log_excerpt(github, tmp_path):
    fake, client = github
    first_log = github_log("npm warn deprecated\n" * 5 + "Killed\n")
    rerun_log = github_log("npm warn deprecated\n" * 5 + "Killed on the re-run too\n")
    async with team_guild(tmp_path / "data") as guild:
        relay = relay_of(guild, client, tmp_path)
        assert await relayed(relay, RunInfo.from_api(fake.add_run(2401, log=first_log))) == "posted"
        [posted] = alerts(guild)
        assert [a.filename for a in posted.attachments] == ["migration-run-2401-attempt-1.txt"]
        assert await relayed(relay, RunInfo.from_api(fake.add_run(2401, 2, log=rerun_log))) == "edited"
        [edited] = alerts(guild)
        assert edited.id == posted.id and "attempt 2" in fields(edited.embeds[0])["Run"]
        [excerpt] = edited.attachments
        assert excerpt.filename == "migration-run-2401-attempt-2.txt"
        assert "Killed on the re-run too" in (await excerpt.read()).decode()
        green = RunInfo.from_api(fake.add_run(2402, conclusion="success"))
        assert await relayed(relay, green) == "fixed"
        [fixed] = alerts(guild)
        assert fixed.embeds[0].title.startswith("✅ Fixed:")
        assert [a.filename for a in fixed.attachments] == ["migration-run-2401-attempt-2.txt"]
        assert guild.env.errors == []


async def test_without_a_position_the_statements_first_line_is_marked_not_its_comments(
    github, scratch_databases, repo_migrations_dir, tmp_path
):
    assert CALL_SQL.splitlines()[CALL_DO_LINE - 1] == "do $$"
    output = real_cli_output(scratch_databases, repo_migrations_dir, tmp_path, CALL_FILE, CALL_SQL, "42883")
    fake, client = github
    payload = fake.add_run(2501, log=github_log(output))
    fake.files[(f"supabase/migrations/{CALL_FILE}", payload["head_sha"])] = CALL_SQL
    async with team_guild(tmp_path / "data") as guild:
        relay = relay_of(guild, client, tmp_path)
        assert await relayed(relay, RunInfo.from_api(payload)) == "posted"
        [message] = alerts(guild)
        f = fields(message.embeds[0])
        assert f["File"] == f"`{CALL_FILE}:{CALL_DO_LINE}` · statement 2 of 2, line {CALL_DO_LINE}"
        where = f["Where"].removeprefix("```sql\n").removesuffix("\n```").splitlines()
        assert where[0] == f"> {CALL_DO_LINE} | do $$" and "note" not in f["Where"]
        assert [row.split("|")[0].strip(" >") for row in where] == [str(n) for n in range(13, 20)]
        fix = next(v for k, v in f.items() if k.startswith("Fix") or k == "What to check")
        assert "does not exist" not in fix and "SQLSTATE" not in fix
        assert message_problems(message.content, message.embeds) == []
