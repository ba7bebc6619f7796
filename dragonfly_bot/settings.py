"""All configuration, from environment variables and an optional ``.env``.

Each field's description is what the start-up error prints when the value is
missing or wrong, so it says what the setting is for. Secrets are SecretStr:
they never show in reprs, logs or error messages.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from dragonfly_bot.core.environments import Environment
from dragonfly_bot.core.webhook_secret import secret_problem
from dragonfly_bot.early_settings import DEFAULT_ENVIRONMENT, DEFAULT_MIGRATIONS_DIR, ENV_FILE, ENV_FILE_ENCODING
from dragonfly_bot.errors import UserFacingError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, env_file_encoding=ENV_FILE_ENCODING, extra="ignore")

    # Discord
    discord_token: SecretStr | None = Field(None, description="the bot token from the Discord developer portal")
    discord_guild_id: int | None = Field(
        None, description="the server (guild) id; commands sync there instantly instead of globally"
    )
    alerts_channel_id: int | None = Field(None, description="the #alerts channel id (CI failures, hotfixes)")
    engineering_channel_id: int | None = Field(None, description="the #engineering channel id")
    hotfix_role_id: int | None = Field(None, description="the role allowed to declare hotfixes")
    devops_lead_role_id: int | None = Field(None, description="the DevOps-lead role that approves prod hotfixes")
    devops_backup_role_id: int | None = Field(
        None, description="pinged too when a prod hotfix has waited HOTFIX_APPROVAL_ESCALATE_MINUTES for approval"
    )
    owner_ids: list[int] = Field(default_factory=list, description="Discord user ids allowed to re-sync commands")

    # Supabase, per environment (the protocol's SUPABASE_MODE picks the default)
    supabase_mode: Environment = Field(DEFAULT_ENVIRONMENT, description="the default environment: dev or prod")
    supabase_url: str | None = Field(None, description="fallback project URL for the SUPABASE_MODE environment")
    supabase_service_role_key: SecretStr | None = Field(
        None, description="fallback service-role key for the SUPABASE_MODE environment"
    )
    supabase_dev_url: str | None = Field(None, description="the dev project URL, https://<ref>.supabase.co")
    supabase_dev_service_role_key: SecretStr | None = Field(None, description="the dev service-role key")
    supabase_dev_db_url: SecretStr | None = Field(None, description="a direct Postgres URL for dev (CI, local stack)")
    supabase_prod_url: str | None = Field(None, description="the prod project URL, https://<ref>.supabase.co")
    supabase_prod_service_role_key: SecretStr | None = Field(None, description="the prod service-role key")
    supabase_prod_db_url: SecretStr | None = Field(None, description="a direct Postgres URL for prod")
    migrations_dir: Path = Field(DEFAULT_MIGRATIONS_DIR, description="the folder of migration files")
    migrations_source: Literal["auto", "local", "github"] = Field(
        "auto",
        description="where the running bot reads migration files: github (the branch CI applies), local "
        "(MIGRATIONS_DIR), or auto (github when GITHUB_TOKEN and GITHUB_REPOSITORY are set)",
    )
    migrations_branch: str | None = Field(
        None,
        description="the branch whose supabase/migrations the bot compares with "
        "(default: the repository's default branch)",
    )
    rest_timeout_seconds: float = Field(10.0, gt=0, description="timeout for one REST request")
    rest_page_size: int = Field(1000, gt=0, le=100000, description="rows asked for per REST page")

    # GitHub (CI relay)
    github_token: SecretStr | None = Field(None, description="a token that can read Actions runs and logs")
    github_repository: str | None = Field(None, description="owner/name of the repository running the workflow")
    github_api_url: str = Field("https://api.github.com", description="GitHub API base URL (GHES: https://HOST/api/v3)")
    github_webhook_secret: SecretStr | None = Field(
        None, description="the webhook secret set on GitHub, 16 characters or more"
    )
    webhook_max_body_bytes: int = Field(
        25 * 1024 * 1024, gt=0, description="largest webhook body accepted (GitHub sends at most 25 MB)"
    )
    webhook_memory_body_bytes: int = Field(
        1024 * 1024,
        gt=0,
        description="webhook bodies up to this size are held in memory while their signature is checked; "
        "larger ones are spooled to a temporary file",
    )
    webhook_unauthenticated_bytes: int = Field(
        32 * 1024 * 1024,
        gt=0,
        description="bytes of webhook bodies whose signature is not checked yet, across all connections; "
        "past it the webhook answers 503 (keep it far below the machine's memory)",
    )
    migrations_workflow: str = Field(
        "supabase-migrate.yml", description="workflow file name or display name of the migrations workflow"
    )
    github_discord_users: dict[str, int] = Field(
        default_factory=dict, description='JSON map of GitHub login to Discord user id, e.g. {"octocat": 123}'
    )
    reconcile_interval_seconds: float = Field(120.0, gt=0, description="how often to list recent workflow runs")
    ci_claim_lease_seconds: float = Field(
        600.0, gt=0, description="seconds a claimed CI run stays with its handler before a later pass takes it again"
    )

    # Hotfixes
    hotfix_reminder_hours: float = Field(4.0, gt=0, description="hours between reminders for an unsynced hotfix")
    hotfix_approval_ping_minutes: float = Field(
        15.0, gt=0, description="minutes between re-pings of the DevOps-lead role while a prod hotfix awaits approval"
    )
    hotfix_approval_escalate_minutes: float = Field(
        60.0,
        gt=0,
        description="minutes of waiting for approval after which the re-pings also ping DEVOPS_BACKUP_ROLE_ID",
    )

    # Process
    web_host: str = Field("0.0.0.0", description="address the web server (health, webhook) listens on")
    web_port: int = Field(8080, ge=0, le=65535, description="port the web server listens on")
    web_header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="seconds a connection to the web server may take to send a request's headers, "
        "or stay idle between requests",
    )
    web_max_connections_per_ip: int = Field(
        256, gt=0, description="open connections the web server accepts from one address"
    )
    web_max_connections: int = Field(
        384,
        gt=0,
        description="open connections the web server accepts in all (each may hold ~0.3 MB of unread data "
        "in aiohttp's buffers; keep it under the file limit)",
    )
    data_dir: Path = Field(Path(".dragonfly"), description="folder for the bot's own state (journals, ledgers)")
    outbox_store: Literal["local", "database"] = Field(
        "local",
        description="where the outbox of posts lives: local (a SQLite file in DATA_DIR) or database (the "
        "SUPABASE_MODE project, private schema; survives the machine being replaced)",
    )
    outbox_lease_seconds: float = Field(
        300.0, gt=0, description="seconds a claimed outbox post stays with its sender before another takes it again"
    )
    log_level: str = Field("INFO", description="logging level: DEBUG, INFO, WARNING or ERROR")

    @field_validator("github_discord_users", mode="before")
    @classmethod
    def _parse_user_map(cls, value):
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        return value

    @field_validator("github_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None):
        if value is None or value.get_secret_value() == "":
            return None  # unset: the webhook answers 503 and the reconciliation loop finds runs
        problem = secret_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str):
        level = value.strip().upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("supabase_url", "supabase_dev_url", "supabase_prod_url")
    @classmethod
    def _check_url(cls, value: str | None):
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https://")
        # The project URL; the dashboard also shows the REST URL (…/rest/v1/), which works as well.
        return re.sub(r"/rest/v1/*$", "", value.rstrip("/")).rstrip("/")

    def project_url(self, env: Environment) -> str | None:
        own = self.supabase_dev_url if env == "dev" else self.supabase_prod_url
        return own or (self.supabase_url if env == self.supabase_mode else None)

    def service_role_key(self, env: Environment) -> SecretStr | None:
        own = self.supabase_dev_service_role_key if env == "dev" else self.supabase_prod_service_role_key
        return own or (self.supabase_service_role_key if env == self.supabase_mode else None)

    def db_url(self, env: Environment) -> SecretStr | None:
        return self.supabase_dev_db_url if env == "dev" else self.supabase_prod_db_url


def _named(field: str) -> str:
    """``FIELD (what it is for)``, as start-up errors name a setting."""
    info = Settings.model_fields.get(field)
    purpose = f" ({info.description})" if info is not None and info.description else ""
    return f"{field.upper()}{purpose}"


def load_settings(**overrides) -> Settings:
    """Settings from the environment, or one clear UserFacingError naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "?"
        reason = first.get("msg", "invalid value").removeprefix("Value error, ")
        raise UserFacingError(f"setting {_named(field)} is invalid: {reason}") from None
    except SettingsError as exc:
        # Raised for list/dict settings that are not valid JSON.
        match = re.search(r'field "([a-z_]+)"', str(exc))
        raise UserFacingError(f"setting {_named(match.group(1) if match else '?')} is not valid JSON") from None
