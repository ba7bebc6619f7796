"""The composition root: one decision per environment, one HTTP client, one GitHub client."""

from __future__ import annotations

import httpx
import pytest
import respx

from dragonfly_bot.adapters.supabase.hotfix_postgres import PostgresHotfixStore
from dragonfly_bot.adapters.supabase.hotfix_rest import RestHotfixStore
from dragonfly_bot.adapters.supabase.postgres import PostgresStatusSource
from dragonfly_bot.adapters.supabase.rest import RestStatusSource
from dragonfly_bot.chat.app import DragonflyBot
from dragonfly_bot.compose import build_services
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.settings import Settings
from dragonfly_bot.status.service import FolderFiles, GitHubFiles
from tests.fakes.helpers import RecordingPoster

REST = {"supabase_dev_url": "https://dev.supabase.co", "supabase_dev_service_role_key": "dev-key"}
DB = "postgresql://u:pw@127.0.0.1:1/x"


def _settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


async def test_each_environment_is_decided_once_for_status_hotfixes_and_probe():
    settings = _settings(**REST, supabase_prod_db_url=DB)
    async with build_services(settings) as services:
        dev, prod = services.backends["dev"], services.backends["prod"]
        assert (dev.kind, prod.kind) == ("rest", "postgres")
        assert isinstance(dev.status_source(), RestStatusSource)
        assert isinstance(dev.hotfix_store(), RestHotfixStore)
        assert isinstance(prod.status_source(), PostgresStatusSource)
        assert isinstance(prod.hotfix_store(), PostgresHotfixStore)
        # The hotfix log lives in the SUPABASE_MODE project.
        assert isinstance(services.hotfix_store(), RestHotfixStore)
        # Every REST part rides the process's one HTTP client.
        assert dev.client is services.http
        assert "dev-key" not in repr(dev) and "pw" not in repr(prod)


async def test_an_explicit_database_url_wins_over_rest_for_every_environment():
    settings = _settings(**REST, supabase_prod_url="https://prod.supabase.co", supabase_prod_service_role_key="k")
    async with build_services(settings, db_url=DB) as services:
        assert {b.kind for b in services.backends.values()} == {"postgres"}
        assert isinstance(services.hotfix_store(), PostgresHotfixStore)


async def test_nothing_configured_says_what_to_set():
    async with build_services(_settings(supabase_dev_url="https://dev.supabase.co")) as services:
        with pytest.raises(UserFacingError, match="SUPABASE_DEV_SERVICE_ROLE_KEY is not set"):
            services.backends["dev"].status_source()
        with pytest.raises(UserFacingError, match="no Supabase settings for prod"):
            services.backends["prod"].status_source()
        with pytest.raises(UserFacingError, match="no store for hotfixes"):
            services.hotfix_store()
        assert "no status source configured for prod" in await services.status.probe("prod")


@respx.mock
async def test_the_probe_uses_the_shared_client_and_the_status_sources_error_lines():
    route = respx.get("https://dev.supabase.co/rest/v1/v_migration_status").mock(
        side_effect=[httpx.Response(200, json=[]), httpx.Response(503, json={}), httpx.Response(404, json={})]
    )
    async with build_services(_settings(**REST)) as services:
        assert await services.status.probe("dev") is None
        # No retries for a probe: one 503 is one request and one line.
        assert "answered HTTP 503" in await services.status.probe("dev")
        assert "is not deployed" in await services.status.probe("dev")
    assert route.call_count == 3
    assert [c.request.url.params["limit"] for c in route.calls] == ["1", "1", "1"]
    assert route.calls[0].request.headers["user-agent"] == "dragonfly-bot"  # the shared client's header
    assert await services.status.probe("dev") == "the HTTP client is not started"


async def test_one_github_client_serves_the_relay_and_the_migration_files(tmp_path):
    settings = _settings(github_token="t", github_repository="o/r", data_dir=tmp_path)
    bot = DragonflyBot(settings, poster=RecordingPoster(), serve_web=False, sync_commands=False)
    async with bot:
        await bot.setup_hook()
        files = bot.services.migration_files
        assert isinstance(files, GitHubFiles)
        relay = bot.get_cog("CiAlerts")
        assert relay is not None and relay.client is files.client is bot.services.github
    # Closing the bot closes what the services opened.
    assert bot.services.http.is_closed


async def test_local_files_for_the_console_and_the_cli(tmp_path):
    settings = _settings(github_token="t", github_repository="o/r", migrations_dir=tmp_path)
    async with build_services(settings, local_files=True) as services:
        assert isinstance(services.migration_files, FolderFiles)
        assert "github" not in services.__dict__  # PyGithub not even imported for it
