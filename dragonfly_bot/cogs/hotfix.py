"""``/hotfix``: declare an emergency hotfix, get prod approved, link and sync its migration, review it.

Thin: it turns the interaction into an ``Actor`` and options, calls
``dragonfly_bot.hotfix.service.HotfixService`` and sends the answer. Refusals are
``UserFacingError``s, shown ephemerally by the central error handler. The
Approve button on a prod alert is a dynamic item, so it keeps working after
a restart. One loop replays journaled declarations, links and syncs
migrations and sends reminders; it starts once the gateway is ready, and
``dragonfly-bot console`` (which has no gateway) runs ``run_follow_up``
itself after each command.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from dragonfly_bot.adapters.state.journal import HotfixJournal
from dragonfly_bot.chat.app import DragonflyBot, bot_of
from dragonfly_bot.chat.errors import send_ephemeral
from dragonfly_bot.chat.ui import Page, Paginator
from dragonfly_bot.core.hotfix import SUMMARY_MAX, Actor, HotfixRefused, HotfixState, check_sql_file, decode_sql_file
from dragonfly_bot.errors import UserFacingError
from dragonfly_bot.hotfix import render_discord as render
from dragonfly_bot.hotfix.service import HotfixService

log = logging.getLogger(__name__)

FOLLOW_UP_SECONDS = 300  # sync check, reminders and journal replay
NO_MENTIONS = discord.AllowedMentions.none()
ENV_CHOICES = [app_commands.Choice(name="dev", value="dev"), app_commands.Choice(name="prod", value="prod")]
STATE_CHOICES = [app_commands.Choice(name=s.value, value=s.value) for s in HotfixState]
FORMAT_CHOICES = [app_commands.Choice(name="Markdown", value="markdown"), app_commands.Choice(name="CSV", value="csv")]


def actor_for(user, settings) -> Actor:
    """The roles that matter, read off the member (a DM user has none).

    Without HOTFIX_ROLE_ID anyone may declare (declaring only documents);
    without DEVOPS_LEAD_ROLE_ID nobody is a lead, so prod cannot be approved.
    """
    role_ids = {getattr(r, "id", None) for r in getattr(user, "roles", None) or ()}
    hotfix_role, lead_role = settings.hotfix_role_id, settings.devops_lead_role_id
    return Actor(
        id=str(user.id),
        name=getattr(user, "display_name", None) or str(user),
        can_declare=hotfix_role is None or hotfix_role in role_ids,
        is_lead=lead_role is not None and lead_role in role_ids,
    )


class ApproveButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"hotfix:approve:(?P<code>HF-[0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
):
    """Approve on a prod hotfix's #alerts post; any lead but the declarer may press it.

    The post is made by the outbox with a plain button of this custom id (``render_posts.approve_button``);
    a press is routed here by the id, also after a restart. A declaration journaled while the store
    was down carries its declaration id instead of a code: pressing it stores the declaration first."""

    def __init__(self, code: str):
        label = f"Approve {code}" if code.startswith("HF-") else "Approve"
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.success, custom_id=f"hotfix:approve:{code}")
        )
        self.code = code

    @property
    def label(self) -> str | None:  # lets the console list and press it
        return self.item.label

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ApproveButton:
        return cls(match["code"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        cog = bot.get_cog("Hotfix")
        if not isinstance(cog, Hotfix):
            await send_ephemeral(interaction, "Hotfixes are not available right now; try `/hotfix approve` later.")
            return
        await interaction.response.defer()  # the store may be slow; Discord allows 3 s
        try:
            hotfix = await cog.svc.approve(actor_for(interaction.user, bot.settings), self.code)
        except UserFacingError as exc:
            await send_ephemeral(interaction, exc.message)
            return
        # The button has done its job: take it off the alert, then confirm to the lead.
        await interaction.edit_original_response(view=None)
        await interaction.followup.send(
            f"You approved {hotfix.code}; the declarer can go ahead in prod.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


class Hotfix(
    commands.GroupCog, group_name="hotfix", group_description="Emergency hotfixes (the protocol's If You Must Hotfix)"
):
    def __init__(self, bot: DragonflyBot, service: HotfixService | None = None):
        self.bot = bot
        self.service = service
        self.unavailable: str | None = None
        super().__init__()

    async def cog_load(self) -> None:
        if self.service is None:
            try:
                self.service = self._build_service()
            except UserFacingError as exc:
                # Load anyway, like /migrations: each command then says what to configure.
                self.unavailable = exc.message
                log.warning("/hotfix has no store: %s", exc.message)
        self.bot.add_dynamic_items(ApproveButton)
        if self.bot.outbox is not None:
            self.bot.outbox.register_button(
                ApproveButton.__discord_ui_compiled_template__, lambda match: ApproveButton(match["code"])
            )
        # Often enough that an approval re-ping is not late by more than its own interval.
        ping_seconds = self.bot.settings.hotfix_approval_ping_minutes * 60
        self.follow_up.change_interval(seconds=max(30.0, min(FOLLOW_UP_SECONDS, ping_seconds)))
        self.follow_up.start()

    def _build_service(self) -> HotfixService:
        settings, services = self.bot.settings, self.bot.services
        return HotfixService(
            services.hotfix_store(),
            HotfixJournal(settings.data_dir),
            self.bot.outbox,  # every post goes through the bot's one outbox
            read_status=services.status.report,
            migration_files=services.status.files,
            reminder_hours=settings.hotfix_reminder_hours,
            lead_role_id=settings.devops_lead_role_id,
            backup_role_id=settings.devops_backup_role_id,
            approval_ping_minutes=settings.hotfix_approval_ping_minutes,
            approval_escalate_minutes=settings.hotfix_approval_escalate_minutes,
        )

    @property
    def svc(self) -> HotfixService:
        if self.service is None:
            raise UserFacingError(self.unavailable or "hotfixes are not set up")
        return self.service

    async def cog_unload(self) -> None:
        self.follow_up.cancel()
        self.bot.remove_dynamic_items(ApproveButton)

    def _actor(self, interaction: discord.Interaction) -> Actor:
        return actor_for(interaction.user, self.bot.settings)

    # ------------------------------------------------------------------ commands

    @app_commands.command(name="declare", description="Declare an emergency SQL change (prod waits for a DevOps lead)")
    @app_commands.describe(
        env="where the SQL was (or will be) run",
        summary="one line: what broke and what the SQL fixes",
        sql="the SQL run in Supabase Studio",
        file="or attach the SQL as a .sql file",
        rollback="optional: the SQL that undoes it",
        impact="optional: who or what is affected",
    )
    @app_commands.choices(env=ENV_CHOICES)
    async def declare(
        self,
        interaction: discord.Interaction,
        env: str,
        summary: app_commands.Range[str, 1, SUMMARY_MAX],
        sql: str | None = None,
        file: discord.Attachment | None = None,
        rollback: str | None = None,
        impact: str | None = None,
    ) -> None:
        actor = self._actor(interaction)
        self._check_sql_options(sql, file)  # instant refusals before "thinking…"
        await interaction.response.defer(ephemeral=True, thinking=True)
        sql_text = sql if file is None else await self._read_sql_file(file)
        outcome = await self.svc.declare(actor, env, summary, sql_text, rollback=rollback, impact=impact)
        if outcome.hotfix is None:
            text = (
                "The hotfix store is unreachable: your declaration is saved in the bot's journal "
                f"(id {outcome.declaration.id[:8]}) and will sync automatically; it gets its HF code then."
            )
            if outcome.declaration.state == HotfixState.AWAITING_APPROVAL:
                text += " The DevOps lead is pinged in #alerts; Approve works once the store is back."
        elif outcome.hotfix.state == HotfixState.AWAITING_APPROVAL:
            pinged = (
                "the lead has been pinged"
                if self.bot.settings.devops_lead_role_id
                else "no DevOps-lead role is configured (DEVOPS_LEAD_ROLE_ID), so nobody can approve it yet"
            )
            text = (
                f"Declared {outcome.hotfix.code} (prod). Do not touch prod until a DevOps lead approves it "
                f"in #alerts; {pinged}."
            )
        else:
            text = (
                f"Declared {outcome.hotfix.code} (dev). Next: create the migration file with "
                f"`-- hotfix: {outcome.hotfix.code}` in it, commit and push."
            )
        if not outcome.posted:
            text += " (Posting to #alerts failed: tell the team yourself.)"
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @staticmethod
    def _check_sql_options(sql: str | None, file: discord.Attachment | None) -> None:
        if file is None:
            return
        if sql:
            raise UserFacingError("give the SQL as text or as a file, not both")
        try:
            check_sql_file(file.filename, file.size)
        except HotfixRefused as exc:
            raise UserFacingError(exc.message) from None

    @staticmethod
    async def _read_sql_file(file: discord.Attachment) -> str:
        try:
            return decode_sql_file(file.filename, await file.read())
        except HotfixRefused as exc:
            raise UserFacingError(exc.message) from None

    async def _act(self, interaction: discord.Interaction, action, *args):
        """Defer (the store may be slow), then run a service action as the interaction's user."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        return await action(self._actor(interaction), *args)

    @staticmethod
    async def _tell(interaction: discord.Interaction, text: str = discord.utils.MISSING, **kwargs: Any) -> None:
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS, **kwargs)

    @app_commands.command(name="approve", description="Approve a prod hotfix (DevOps lead, not the declarer)")
    @app_commands.describe(code="the hotfix code, e.g. HF-0007")
    async def approve(self, interaction: discord.Interaction, code: str) -> None:
        hotfix = await self._act(interaction, self.svc.approve, code)
        await self._tell(interaction, f"You approved {hotfix.code}; the declarer can go ahead in prod.")

    @app_commands.command(
        name="reject", description="Refuse a prod hotfix awaiting approval (DevOps lead, not the declarer)"
    )
    @app_commands.describe(code="the hotfix code, e.g. HF-0007", reason="why prod must not be touched this way")
    async def reject(self, interaction: discord.Interaction, code: str, reason: str) -> None:
        hotfix = await self._act(interaction, self.svc.reject, code, reason)
        await self._tell(interaction, f"You rejected {hotfix.code}; the declarer must not touch prod for it.")

    @app_commands.command(name="cancel", description="Close a hotfix that will never sync (declarer or DevOps lead)")
    @app_commands.describe(code="the hotfix code, e.g. HF-0007", reason="why, e.g. the SQL was never run in Studio")
    async def cancel(self, interaction: discord.Interaction, code: str, reason: str) -> None:
        hotfix = await self._act(interaction, self.svc.cancel, code, reason)
        await self._tell(interaction, f"{hotfix.code} is cancelled; its reminders have stopped.")

    @app_commands.command(
        name="accept", description="Accept a migration's differences from the SQL run (DevOps lead, not the declarer)"
    )
    @app_commands.describe(code="the hotfix code, e.g. HF-0007", reason="why the differences are acceptable")
    async def accept(self, interaction: discord.Interaction, code: str, reason: str) -> None:
        hotfix = await self._act(interaction, self.svc.accept, code, reason)
        await self._tell(interaction, f"You accepted the differences of {hotfix.code}; it is synced.")

    @app_commands.command(name="link", description="Link the migration file that carries a hotfix")
    @app_commands.describe(code="the hotfix code, e.g. HF-0007", file="the migration file in supabase/migrations")
    async def link(self, interaction: discord.Interaction, code: str, file: str) -> None:
        hotfix = await self._act(interaction, self.svc.link, code, file)
        await self._tell(interaction, embed=render.linked_embed(hotfix, automatic=False))

    @link.autocomplete("file")
    async def link_file_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            local = await self.bot.services.status.files.read()
        except (UserFacingError, OSError):
            return []  # the command itself will say what is wrong
        names = sorted((m.file for m in local.migrations), reverse=True)
        wanted = current.lower().strip()
        return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names if wanted in n.lower()][:25]

    @app_commands.command(name="resolve", description="Close a synced hotfix with the post-incident review")
    @app_commands.describe(code="the hotfix code, e.g. HF-0007", review="why did we need a hotfix?")
    async def resolve(self, interaction: discord.Interaction, code: str, review: str) -> None:
        hotfix = await self._act(interaction, self.svc.resolve, code, review)
        await self._tell(interaction, f"{hotfix.code} is resolved. Thank you for the review.")

    @app_commands.command(name="note", description="Add a note or status update to a hotfix's timeline")
    @app_commands.describe(code="the hotfix code, e.g. HF-0007", text="what happened or what you found")
    async def note(self, interaction: discord.Interaction, code: str, text: str) -> None:
        hotfix = await self._act(interaction, self.svc.note, code, text)
        await self._tell(interaction, f"Noted on {hotfix.code}'s timeline.")

    @app_commands.command(name="ran", description="Record that you ran the hotfix's SQL in Supabase Studio")
    @app_commands.describe(
        code="the hotfix code, e.g. HF-0007", when="when (UTC): HH:MM today, `45m ago`, YYYY-MM-DD HH:MM; default now"
    )
    async def ran(self, interaction: discord.Interaction, code: str, when: str | None = None) -> None:
        hotfix, at = await self._act(interaction, self.svc.ran, code, when)
        await self._tell(interaction, f"Recorded: you ran {hotfix.code}'s SQL at {at:%Y-%m-%d %H:%M} UTC.")

    @app_commands.command(name="followup", description="Add a follow-up with an owner and a due date")
    @app_commands.describe(
        code="the hotfix code, e.g. HF-0007",
        text="what must be done",
        owner="who does it",
        due="due date, YYYY-MM-DD (reminded in the thread when overdue)",
    )
    async def followup(
        self, interaction: discord.Interaction, code: str, text: str, owner: discord.Member, due: str
    ) -> None:
        name = owner.display_name or str(owner)
        hotfix, item = await self._act(interaction, self.svc.followup, code, text, str(owner.id), name, due)
        await self._tell(interaction, f"Follow-up added to {hotfix.code} for {name}, due {item.due.isoformat()}.")

    @app_commands.command(name="list", description="Hotfixes, newest first")
    @app_commands.describe(state="only this state", env="only this environment")
    @app_commands.choices(state=STATE_CHOICES, env=ENV_CHOICES)
    async def list_(self, interaction: discord.Interaction, state: str | None = None, env: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        hotfixes = await self.svc.list(state=state, environment=env)
        title = "Hotfixes" + (f" · {state}" if state else "") + (f" · {env}" if env else "")
        pages = [Page(embeds=[e]) for e in render.list_embeds(hotfixes, title)]
        await Paginator(pages, owner_id=interaction.user.id).send(interaction, ephemeral=True)

    @app_commands.command(name="show", description="One hotfix with its timeline")
    @app_commands.describe(code="the hotfix code, e.g. HF-0007")
    async def show(self, interaction: discord.Interaction, code: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        hotfix, events = await self.svc.show(code)
        await interaction.followup.send(
            embed=render.show_embed(hotfix, events, self.svc.now()), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="export", description="All hotfixes for the post-incident review meeting")
    @app_commands.describe(format="Markdown (default) or CSV")
    @app_commands.choices(format=FORMAT_CHOICES)
    async def export(self, interaction: discord.Interaction, format: str = "markdown") -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        name, text = await self.svc.export(format)
        await interaction.followup.send(
            f"{name}: every hotfix with its review and time to sync.",
            file=discord.File(io.BytesIO(text.encode("utf-8")), filename=name),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    # ------------------------------------------------------------------ the follow-through loop

    async def run_follow_up(self) -> None:
        """One round of the follow-through: the loop's body, also run by the console after each command."""
        if self.service is None:
            return
        try:
            report = await self.service.tick()
            if any(vars(report).values()):
                log.info("hotfix follow-up: %s", report)
        except Exception:
            log.exception("hotfix follow-up failed; the loop goes on")

    @tasks.loop(seconds=FOLLOW_UP_SECONDS)
    async def follow_up(self) -> None:
        await self.run_follow_up()

    @follow_up.before_loop
    async def _wait_until_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: DragonflyBot) -> None:
    await bot.add_cog(Hotfix(bot))
