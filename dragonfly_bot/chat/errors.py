"""The one place app-command (and button) failures become a user-facing line.

Every failure ends as a short ephemeral message; the detail goes to the log.
An unexpected error gets a short incident id that appears in both, so a user
can quote it and an operator can find the traceback. Which way the message
goes depends on the interaction's state: not yet answered (send_message),
already deferred or answered (followup), or expired (log only: Discord no
longer accepts anything for it).
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from dragonfly_bot.core.redact import redact
from dragonfly_bot.errors import UserFacingError

log = logging.getLogger(__name__)

UNKNOWN_INTERACTION = 10062  # the 3 s window passed before we answered
UNKNOWN_WEBHOOK = 10015  # the 15 min follow-up token expired


def _command_name(interaction: discord.Interaction) -> str:
    command = getattr(interaction, "command", None)
    name = getattr(command, "qualified_name", None)
    return f"/{name}" if isinstance(name, str) else "this command"


def _role_text(role: int | str) -> str:
    return f"<@&{role}>" if isinstance(role, int) else f"**{role}**"


def _unwrap(error: BaseException) -> BaseException:
    if isinstance(error, app_commands.CommandInvokeError) and error.original is not None:
        return error.original
    return error


def describe_error(interaction: discord.Interaction, error: BaseException) -> tuple[str, str | None]:
    """(message for the user, incident id or None when the error is expected)."""
    error = _unwrap(error)
    command = _command_name(interaction)
    if isinstance(error, UserFacingError):
        return redact(error.message), None
    if isinstance(error, app_commands.MissingRole):
        return f"You need the {_role_text(error.missing_role)} role to use {command}.", None
    if isinstance(error, app_commands.MissingAnyRole):
        roles = ", ".join(_role_text(r) for r in error.missing_roles)
        return f"You need one of these roles to use {command}: {roles}.", None
    if isinstance(error, app_commands.NoPrivateMessage):
        return f"{command} works only in the server, not in direct messages.", None
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"{command} is cooling down: try again in {error.retry_after:.0f} s.", None
    if isinstance(error, app_commands.MissingPermissions):
        return f"You need the {', '.join(error.missing_permissions)} permission(s) to use {command}.", None
    if isinstance(error, app_commands.BotMissingPermissions):
        perms = ", ".join(error.missing_permissions)
        return f"I am missing the {perms} permission(s) in this channel; ask an admin to grant them.", None
    if isinstance(error, app_commands.TransformerError):
        return f"`{redact(str(error.value))[:100]}` is not a valid value for that option; pick one from the list.", None
    if isinstance(error, app_commands.CheckFailure):
        return f"You are not allowed to use {command}.", None
    incident = secrets.token_hex(3)
    return f"Something went wrong running {command} (incident `{incident}`); it has been logged.", incident


async def _complete_public_placeholder(interaction: discord.Interaction) -> None:
    """After a public ``defer(thinking=True)``, Discord treats follow-ups as edits of the
    "thinking…" message until it is completed, and that message keeps the defer's (public)
    visibility; deleting it instead ends the interaction's follow-ups (10008 Unknown
    Message), so the user would see nothing. So: complete the placeholder with one neutral
    public line, then the reason goes in an ephemeral follow-up of its own (only while it
    is still a placeholder: an answer already sent stays). simcord models this; the
    console and tests/chat/test_errors_discord.py run it."""
    if getattr(interaction.response, "type", None) is not discord.InteractionResponseType.deferred_channel_message:
        return
    try:
        original = await interaction.original_response()
        if original.flags.loading and not original.flags.ephemeral:
            await interaction.edit_original_response(
                content=f"{_command_name(interaction)} could not answer; the reason was shown to "
                f"{getattr(interaction.user, 'mention', 'the caller')} only."
            )
    except discord.HTTPException as exc:
        log.info("could not complete the thinking message of %s: %s", _command_name(interaction), exc)


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer the interaction ephemerally, whatever state it is in; never raises."""
    try:
        if interaction.response.is_done():
            await _complete_public_placeholder(interaction)
            await interaction.followup.send(message, ephemeral=True)
        else:
            try:
                await interaction.response.send_message(message, ephemeral=True)
            except discord.InteractionResponded:
                # Answered by someone else between our check and our send.
                await interaction.followup.send(message, ephemeral=True)
    except discord.NotFound as exc:
        if exc.code in (UNKNOWN_INTERACTION, UNKNOWN_WEBHOOK):
            log.warning("interaction for %s expired before the error could be shown", _command_name(interaction))
        else:
            log.warning("could not show an error for %s: %s", _command_name(interaction), exc)
    except discord.HTTPException as exc:
        log.warning("could not show an error for %s: %s", _command_name(interaction), exc)


async def handle_app_command_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Log the failure and tell the user in one short ephemeral line."""
    original = _unwrap(error)
    if isinstance(original, discord.NotFound) and original.code in (UNKNOWN_INTERACTION, UNKNOWN_WEBHOOK):
        # The command itself answered too late (Discord's 3 s / 15 min windows): nobody to tell.
        log.warning("%s answered after the interaction expired (%s)", _command_name(interaction), original.code)
        return
    message, incident = describe_error(interaction, error)
    user = getattr(interaction, "user", None)
    if incident is not None:
        log.error(
            "incident %s: %s by user %s failed",
            incident,
            _command_name(interaction),
            getattr(user, "id", "?"),
            exc_info=(type(original), original, original.__traceback__),
        )
    else:
        log.info("%s by user %s: %s", _command_name(interaction), getattr(user, "id", "?"), redact(message))
    await send_ephemeral(interaction, message)


class DragonflyTree(app_commands.CommandTree):
    """The bot's command tree: every app-command error goes through the handler above."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await handle_app_command_error(interaction, error)
