"""/migrations in the running bot compares with the migrations on GitHub's branch, not the image's copy.

The deployed bot's image carries the supabase/migrations of the day it was
built; CI applies what is on the repository's default branch. These tests run
the cog callback against a real database (migrations applied by the real
Supabase CLI) and the local GitHub fake (tests/fakes/github_fake.py).
"""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest

from dragonfly_bot.adapters.github import ArchiveTooLarge, read_archive_folder
from dragonfly_bot.adapters.localdb import migration_up
from dragonfly_bot.chat.app import DragonflyBot
from dragonfly_bot.cogs.status import Migrations
from dragonfly_bot.compose import build_services
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.settings import Settings
from dragonfly_bot.status.service import FolderFiles, GitHubFiles
from tests.conftest import REPO_MIGRATIONS
from tests.fakes.github_fake import REPO, TOKEN, FakeGitHub
from tests.fakes.helpers import RecordingPoster, embed_text, make_interaction, sent_embeds
from tests.fakes.team_guild import team_guild

NEW_FILE = "20260201000000_add_widgets.sql"
NEW_SQL = "create table if not exists public.widgets (id bigint primary key);\n"


@pytest.fixture
async def fake_github():
    fake = await FakeGitHub().start()
    fake.push(
        {f"supabase/migrations/{p.name}": p.read_text() for p in REPO_MIGRATIONS.glob("*.sql")}
        | {"README.md": "# dragonfly\n", "supabase/config.toml": "project_id = 'x'\n"}
    )
    yield fake
    await fake.stop()


def _image_copy(tmp_path: Path) -> Path:
    """The migrations folder baked into the bot's image: the repository's as of the build."""
    folder = tmp_path / "image" / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for path in REPO_MIGRATIONS.glob("*.sql"):
        shutil.copy(path, folder / path.name)
    return folder


def _bot(fake: FakeGitHub, tmp_path: Path, db_url: str, **settings) -> DragonflyBot:
    values = {
        "github_token": TOKEN,
        "github_repository": REPO,
        "github_api_url": fake.url,
        "migrations_dir": _image_copy(tmp_path),
    }
    values.update(settings)
    settings = Settings(_env_file=None, **values)
    bot = DragonflyBot(
        settings,
        services=build_services(settings, db_url=db_url),
        poster=RecordingPoster(),
        serve_web=False,
        sync_commands=False,
    )
    files = bot.services.migration_files
    if isinstance(files, GitHubFiles):
        files.min_interval = 0  # every /migrations asks GitHub (the default shares one check per 2 s)
    return bot


async def _ask(bot: DragonflyBot, env: str = "dev"):
    cog = Migrations(bot)
    inter = make_interaction()
    await cog.migrations.callback(cog, inter, env=env)
    [embed] = sent_embeds(inter)
    return embed


def _checkout(fake: FakeGitHub, tmp_path: Path, name: str) -> Path:
    """What CI's checkout of the branch has in supabase/migrations."""
    folder = tmp_path / name
    folder.mkdir()
    for path, text in fake.commits[fake.branches["main"]].items():
        if path.startswith("supabase/migrations/"):
            (folder / path.rsplit("/", 1)[1]).write_text(text)
    return folder


async def test_new_file_on_the_branch_is_pending_then_applied_never_missing_local(fake_github, scratch_db, tmp_path):
    result = migration_up(scratch_db.url, _checkout(fake_github, tmp_path, "ci-1"))
    assert result.returncode == 0, result.stderr
    bot = _bot(fake_github, tmp_path, scratch_db.url)
    try:
        embed = await _ask(bot)
        first_head = fake_github.branches["main"]
        assert "Nothing needs attention" in embed.description
        assert f"files: {fake_github.url.split('://')[1]}/{REPO}@{first_head[:7]}" in embed.description

        # A pull request merged: the branch has a new migration; the bot's image does not.
        head = fake_github.push({f"supabase/migrations/{NEW_FILE}": NEW_SQL})
        embed = await _ask(bot)
        line = next(line for line in embed_text(embed).splitlines() if NEW_FILE in line and "·" in line)
        assert "pending" in line
        assert f"@{head[:7]}" in embed.description

        # CI applies the branch (the real Supabase CLI) ...
        result = migration_up(scratch_db.url, _checkout(fake_github, tmp_path, "ci-2"))
        assert result.returncode == 0, result.stderr
        embed = await _ask(bot)
        text = embed_text(embed)
        assert "Nothing needs attention" in embed.description, text
        fields = {f.name: f.value for f in embed.fields}
        assert fields["👻 missing locally"] == "0" and fields["⏳ pending"] == "0"
        assert fields["✅ applied"] == str(len(list(REPO_MIGRATIONS.glob("*.sql"))) + 1)

        # ... while the image's copy, which the bot used to read, calls it drift.
        local = _bot(fake_github, tmp_path / "local", scratch_db.url, migrations_source="local")
        assert isinstance(local.services.migration_files, FolderFiles)
        stale = embed_text(await _ask(local))
        assert NEW_FILE in stale and "missing locally" in stale
    finally:
        await bot.close()


async def test_unchanged_head_costs_one_304_and_no_download(fake_github, migrated_db, tmp_path):
    bot = _bot(fake_github, tmp_path, migrated_db.url)
    try:
        await _ask(bot)
        assert len(fake_github.api_requests("tarball")) == 1 and len(fake_github.api_requests("archive")) == 1
        fake_github.requests.clear()
        fake_github.statuses.clear()
        embed = await _ask(bot)
        assert "Nothing needs attention" in embed.description
        assert [status for _, status in fake_github.statuses] == [304]
        assert fake_github.api_requests("commit") == fake_github.requests  # nothing else was asked
        # compare reads dev and prod together: with the default interval, one check serves both.
        files = bot.services.migration_files
        files.min_interval, files._checked_at = 2.0, float("-inf")
        fake_github.statuses.clear()
        await _ask(bot, "compare")
        assert [status for _, status in fake_github.statuses] == [304]
    finally:
        await bot.close()


async def test_new_head_without_migration_changes_reuses_parsed_files(fake_github, migrated_db, tmp_path):
    bot = _bot(fake_github, tmp_path, migrated_db.url)
    try:
        await _ask(bot)
        files = bot.services.migration_files
        before = files.snapshot.files.migrations
        fake_github.push({"README.md": "# dragonfly, now with docs\n"})
        await _ask(bot)
        after = files.snapshot.files.migrations
        assert len(after) == len(before) and all(a is b for a, b in zip(after, before, strict=True))  # not parsed again
    finally:
        await bot.close()


async def test_token_is_not_sent_to_the_archive_host(fake_github, migrated_db, tmp_path):
    bot = _bot(fake_github, tmp_path, migrated_db.url)
    try:
        await _ask(bot)
        assert fake_github.archive_auth_headers == [None]
    finally:
        await bot.close()


@pytest.mark.parametrize("failure", [503, "rate"])
async def test_github_failing_after_a_good_snapshot_uses_it_and_says_so(fake_github, migrated_db, tmp_path, failure):
    bot = _bot(fake_github, tmp_path, migrated_db.url)
    try:
        await _ask(bot)
        good = fake_github.branches["main"]
        fake_github.push({f"supabase/migrations/{NEW_FILE}": NEW_SQL})
        fake_github.fail_repo_with = failure
        embed = await _ask(bot)
        assert f"@{good[:7]}, last good snapshot" in embed.description
        assert "GitHub failed just now: GitHub answered" in embed.description
        assert "Nothing needs attention" in embed.description
        # GitHub answers again: the new head is read.
        fake_github.fail_repo_with = None
        embed = await _ask(bot)
        assert "last good snapshot" not in embed.description and NEW_FILE in embed_text(embed)
    finally:
        await bot.close()


@pytest.mark.parametrize(
    "settings, failure, expected",
    [
        ({}, 401, "GitHub refused GITHUB_TOKEN (401)"),
        ({}, 503, "try again in a minute"),
        ({}, "rate", "rate limit for GITHUB_TOKEN is used up (it resets at 20:00 UTC)"),
        (
            {"github_repository": "octo-org/nope"},
            None,
            "repository octo-org/nope not found (404): check GITHUB_REPOSITORY",
        ),
        ({"migrations_branch": "release"}, None, "branch release not found (422): check MIGRATIONS_BRANCH"),
    ],
)
async def test_github_failing_without_a_snapshot_is_one_clear_ephemeral_line(
    fake_github, migrated_db, tmp_path, settings, failure, expected
):
    # On the real path (simcord): the public defer is completed neutrally, the reason is ephemeral.
    fake_github.fail_repo_with = failure
    values = {
        "github_token": TOKEN,
        "github_repository": REPO,
        "github_api_url": fake_github.url,
        "migrations_dir": _image_copy(tmp_path),
        **settings,
    }
    async with team_guild(
        tmp_path / "data", settings=values, status_db_url=migrated_db.url, local_files=False
    ) as guild:
        result = await guild.slash("migrations", env="dev")
        assert not result.ephemeral and "could not answer" in result.response.content
        [reason] = result.followups
        text = reason.content
        assert reason.ephemeral and expected in text, text
        assert text.startswith("could not read supabase/migrations of ") and "\n" not in text
        assert TOKEN not in text and TOKEN not in result.response.content
        assert fake_github.archive_auth_headers == []


def test_which_files_the_bot_reads(tmp_path):
    github = {"github_token": TOKEN, "github_repository": REPO}

    def make(files_source=None, **s):
        return build_services(Settings(_env_file=None, **s), local_files=files_source == "local").migration_files

    assert isinstance(make(), FolderFiles)  # auto, GitHub not configured
    assert isinstance(make(**github), GitHubFiles)  # auto, GitHub configured
    assert isinstance(make(migrations_source="local", **github), FolderFiles)
    assert isinstance(make("local", **github), FolderFiles)  # the console: the engineer's checkout
    with pytest.raises(UserFacingError, match="MIGRATIONS_SOURCE=github needs GITHUB_TOKEN"):
        make(migrations_source="github")
    enterprise = make(github_api_url="https://ghe.example.com/api/v3/", **github)
    assert enterprise.web_host == "ghe.example.com"
    assert make(**github).web_host == "github.com"


def _tar(members: dict[str, bytes], *, compress: bool = True) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if compress else "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("o-r-abc/supabase/migrations/20260101000000_link.sql")
        link.type, link.linkname = tarfile.SYMTYPE, "../../etc/passwd"
        archive.addfile(link)
    out.seek(0)
    return out


def test_archive_reader_keeps_only_the_folders_own_files():
    archive = _tar(
        {
            "o-r-abc/supabase/migrations/20260101000000_a.sql": b"select 1;",
            "o-r-abc/supabase/migrations/old/20250101000000_b.sql": b"select 2;",  # nested: the CLI skips it
            "o-r-abc/other/supabase/migrations/20260101000000_c.sql": b"select 3;",
            "o-r-abc/README.md": b"x",
        }
    )
    assert read_archive_folder(archive, "supabase/migrations") == {"20260101000000_a.sql": b"select 1;"}
    plain = _tar({"o-r-abc/supabase/migrations/20260101000000_a.sql": b"select 1;"}, compress=False)
    assert read_archive_folder(plain, "supabase/migrations/") == {"20260101000000_a.sql": b"select 1;"}
    with pytest.raises(ArchiveTooLarge):
        read_archive_folder(
            _tar({"o-r-abc/supabase/migrations/x.sql": b"x" * 100}), "supabase/migrations", max_file_bytes=10
        )


async def test_archive_over_the_cap_is_refused(fake_github):
    from dragonfly_bot.adapters.github import GitHubClient

    fake_github.push(
        {f"supabase/migrations/2026030100{i:04d}_filler.sql": f"select {i}; -- {i * 7919}" * 50 for i in range(200)}
    )
    client = GitHubClient(TOKEN, REPO, api_url=fake_github.url, retry=0)
    try:
        sha = fake_github.branches["main"]
        with pytest.raises(ArchiveTooLarge, match="larger than 0 MB"):
            await client.archive_files(sha, "supabase/migrations", max_bytes=4096)
        files = await client.archive_files(sha, "supabase/migrations")
        assert len(files) == 200 + len(list(REPO_MIGRATIONS.glob("*.sql")))
    finally:
        client.close()


async def test_a_hotfix_migration_pushed_to_the_branch_auto_links_without_a_redeploy(
    fake_github, migrated_db, tmp_path
):
    """The hotfix follow-up reads the same files /migrations does: the branch, not the image's copy."""
    from dragonfly_bot.core.hotfix import HotfixState
    from tests.fakes.hotfix_support import DEV, make_service

    bot = _bot(fake_github, tmp_path, migrated_db.url)
    try:
        service = make_service(migrated_db.url, tmp_path / "data", RecordingPoster())
        service.migration_files = bot.services.migration_files
        hotfix = (
            await service.declare(DEV, "dev", "add widgets", "create table public.widgets (id bigint primary key);")
        ).hotfix
        assert await service.auto_link() == 0
        fake_github.push({"supabase/migrations/20260202000000_widgets.sql": f"-- hotfix: {hotfix.code}\n{NEW_SQL}"})
        assert await service.auto_link() == 1
        linked = await service.get(hotfix.code)
        assert linked.state is HotfixState.MIGRATION_LINKED and linked.linked_file == "20260202000000_widgets.sql"
        assert not (bot.settings.migrations_dir / "20260202000000_widgets.sql").exists()  # not in the image
        with pytest.raises(UserFacingError, match=r"is not a migration in .*@"):
            await service.link(DEV, hotfix.code, "20991231000000_nowhere.sql")
    finally:
        await bot.close()
