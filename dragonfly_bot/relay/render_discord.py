"""The one renderer of CI failure alerts in #alerts (and their "fixed" edit).

Embeds never ping, so the run's author is mentioned in the message content,
and ``allowed_mentions`` lets exactly that user (nobody else, no roles, no
@everyone) be notified. Every text that came from outside (log lines, commit
messages, names) goes through ``redact`` here, at the last step before
Discord, and every part is clipped to Discord's limits. When the error or the
statement does not fit, the full redacted excerpt rides along as a file.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import discord

from dragonfly_bot.chat.limits import CONTENT, DESCRIPTION, FIELD_VALUE, clip, fit_embed, pack_lines
from dragonfly_bot.core.ci_runs import CiAlert, RunInfo
from dragonfly_bot.core.diagnosis.facts import facts_lines
from dragonfly_bot.core.failures import UNKNOWN
from dragonfly_bot.core.redact import redact

RED = discord.Colour(0xD73A49)
GREEN = discord.Colour(0x28A745)
GREY = discord.Colour(0x6A737D)
AMBER = discord.Colour(0xDBAB09)
NO_ERROR_FOUND = "failed, no error found in the log"
EXCERPT_TAIL_LINES = 200

_CONCLUSION_WORDS = {
    "failure": "failed",
    "timed_out": "timed out",
    "startup_failure": "could not start",
}


@dataclass
class RenderedAlert:
    content: str | None
    embed: discord.Embed
    allowed_mentions: discord.AllowedMentions
    excerpt: tuple[str, bytes] | None  # (file name, redacted text) when something did not fit

    def files(self) -> list[discord.File]:
        if self.excerpt is None:
            return []
        name, data = self.excerpt
        return [discord.File(io.BytesIO(data), filename=name)]


def _code(text: str, limit: int = FIELD_VALUE, *, lang: str = "") -> tuple[str, bool]:
    """A code block of at most ``limit`` characters; True when the text was cut."""
    text = redact(text).replace("```", "`\u200b``")
    room = limit - 8 - len(lang)
    cut = len(text) > room
    return f"```{lang}\n{clip(text, room)}\n```", cut


ERROR_WIDTH = 56  # characters of the ERROR line per row: Discord's embed code block shows about this many


def _wrapped(text: str, width: int = ERROR_WIDTH) -> str:
    """Long lines broken at spaces (or hard, for a long word), so nothing is cut at the embed's right edge."""
    out: list[str] = []
    for line in text.splitlines() or [""]:
        glued = line.replace(" (SQLSTATE ", "\x00(SQLSTATE\x00")  # "(SQLSTATE 42P07)" stays on one row
        rows = textwrap.wrap(glued, width, break_long_words=True, break_on_hyphens=False) or [""]
        out.extend(row.replace("\x00(SQLSTATE\x00", " (SQLSTATE ") for row in rows)
    return "\n".join(out)


def _fix(failure) -> tuple[str, str, bool]:
    """(field name, value, cut): the advice in prose, then the SQL to run as a code block."""
    advice = redact(failure.advice or "no known fix")
    label = "What to check" if failure.confidence == "check" else "Fix"
    if failure.confidence in ("certain", "likely"):
        label = f"Fix ({failure.confidence})"
    if not failure.fix_sql:
        return label, clip(advice, FIELD_VALUE), len(advice) > FIELD_VALUE
    prose = clip(advice, FIELD_VALUE // 3)
    room = FIELD_VALUE - len(prose) - 1
    sql = redact(failure.fix_sql)
    if len(sql) + 12 > room:
        # Never a cut statement: it would not run. The attachment has it whole.
        return label, clip(f"{prose}\n(the statement to run is in the attached excerpt)", FIELD_VALUE), True
    block, _ = _code(sql, room, lang="sql")
    return label, f"{prose}\n{block}", False


def _where(failure) -> str:
    """The failing line with a few lines around it, marked, as a code block (or the statement when no file)."""
    marked = failure.error_line or failure.line
    rows = []
    width = max((len(str(n)) for n, _ in failure.context), default=1)
    for number, text in failure.context:
        rows.append(f"{'>' if number == marked else ' '} {number:>{width}} | {text}")
        if number == marked and failure.caret_column and failure.error_line:
            rows.append(" " * (width + 5 + failure.caret_column - 1) + "^")
    return "\n".join(rows)


def _position(failure) -> str:
    parts = []
    if failure.statement_index is not None:
        total = f" of {failure.statement_count}" if failure.statement_count else ""
        parts.append(f"statement {failure.statement_index + 1}{total}")
    if failure.line is not None:
        parts.append(f"line {failure.line}")
    return ", ".join(parts)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(seconds)
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _commit(run: RunInfo) -> str:
    if not run.head_sha:
        return "unknown"
    parts = [f"`{run.short_sha}`"]
    if run.commit_title:
        parts.append(redact(clip(run.commit_title, 200)))
    if run.commit_author:
        parts.append(f"({redact(clip(run.commit_author, 80))})")
    return " ".join(parts)


def _run_link(run: RunInfo) -> str:
    label = f"run {run.run_id}, attempt {run.attempt}"
    return f"[{label}]({run.attempt_url})" if run.attempt_url else label


def render_alert(alert: CiAlert) -> RenderedAlert:
    run, failure = alert.run, alert.failure
    verb = _CONCLUSION_WORDS.get(run.conclusion, run.conclusion or "failed")
    where = alert.environment
    subject = failure.file if failure is not None and failure.file else "Supabase Migrations"
    later = alert.superseded_by
    mark = "⏭️ Superseded:" if later is not None else "❌"
    embed = discord.Embed(
        title=redact(clip(f"{mark} {subject} {verb} on {where}", 256)),
        url=run.attempt_url or None,
        colour=GREY if later is not None else RED,
    )
    cut = False
    if failure is not None:
        error = f"ERROR: {failure.headline}"
        if failure.detail:
            error += f"\n{failure.detail}"
        if failure.category == UNKNOWN and failure.error_lines:
            # No known pattern: show what the log said, as it said it.
            error = "\n".join(failure.error_lines)
        embed.description, cut = _code(
            _wrapped(redact(error)), DESCRIPTION // 3
        )  # redact first: wrapping splits secrets
    elif run.conclusion == "startup_failure":
        embed.description = "The workflow could not start (a YAML or permissions problem): open the run."
    elif alert.note and not alert.log_tail:
        # The log was never read: say so, and promise nothing that is not attached.
        embed.description = clip(
            redact(alert.note[:1].upper() + alert.note[1:]) + ": open the run for its log.", DESCRIPTION
        )
    else:
        attached = "; the end of the log is attached." if alert.log_tail else "."
        embed.description = NO_ERROR_FOUND.capitalize() + attached
        if alert.note:
            embed.description += "\n" + redact(alert.note)

    if later is not None:
        # Delivered after a newer green run of the environment: nothing to fix any more.
        green = f"`{later.short_sha}` {redact(clip(later.commit_title, 200))}".strip()
        embed.add_field(name="Already green", value=f"{green}\n{_run_link(later)}", inline=False)
    embed.add_field(name="Environment", value=where, inline=True)
    if run.head_branch:
        embed.add_field(name="Branch", value=clip(redact(f"`{run.head_branch}`"), 200), inline=True)
    if failure is not None:
        embed.add_field(name="Category", value=f"`{failure.category}`", inline=True)
        if failure.file:
            line = failure.error_line or failure.line
            position = _position(failure)
            value = redact(
                f"`{failure.file}{':' + str(line) if line else ''}`" + (f" · {position}" if position else "")
            )
            embed.add_field(name="File", value=clip(value, FIELD_VALUE), inline=False)
        if failure.context:
            value, context_cut = _code(_where(failure), lang="sql")
            cut = cut or context_cut
            embed.add_field(name="Where", value=value, inline=False)
        elif failure.statement:
            value, statement_cut = _code(failure.statement, lang="sql")
            cut = cut or statement_cut
            embed.add_field(name="Statement", value=value, inline=False)
        name, value, hint_cut = _fix(failure)
        cut = cut or hint_cut
        embed.add_field(name=name, value=value, inline=False)
        database = facts_lines(failure.facts)  # what CI read from the catalog (record-run's line in the log)
        if database:
            embed.add_field(name="Database", value=clip(redact("\n".join(database)), FIELD_VALUE), inline=False)
    if alert.failed_steps or alert.failed_jobs:
        steps = clip(redact(", ".join(alert.failed_steps) or ", ".join(alert.failed_jobs)), 250)
        value = f"[{steps}]({alert.step_url})" if alert.step_url else steps
        embed.add_field(name="Failed step", value=value, inline=False)
    embed.add_field(name="Commit", value=clip(_commit(run), FIELD_VALUE), inline=False)
    embed.add_field(name="Run", value=_run_link(run), inline=True)
    embed.add_field(name="Duration", value=_duration(run.duration_seconds), inline=True)
    actor = f" · by {redact(run.actor)}" if run.actor else ""
    embed.set_footer(text=f"{run.repository} · Supabase Migrations{actor}")
    fit_embed(embed)

    content = None
    mentions = discord.AllowedMentions.none()
    if alert.mention_user_id is not None and later is None:
        content = clip(f"<@{alert.mention_user_id}> your migration run {verb} on {where}.", CONTENT)
        mentions = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(id=alert.mention_user_id)], replied_user=False
        )
    excerpt = None
    if cut or (failure is None and alert.log_tail):
        excerpt = (excerpt_name(run), _excerpt_text(alert).encode())
    return RenderedAlert(content=content, embed=embed, allowed_mentions=mentions, excerpt=excerpt)


def excerpt_name(run: RunInfo) -> str:
    return f"migration-run-{run.run_id}-attempt-{run.attempt}.txt"


def _excerpt_text(alert: CiAlert) -> str:
    run, failure = alert.run, alert.failure
    lines = [
        f"Supabase Migrations on {alert.environment}: run {run.run_id}, attempt {run.attempt}",
        run.attempt_url,
        f"commit {run.head_sha} {run.commit_title}",
        "",
    ]
    if failure is not None:
        lines += ["== error ==", *failure.error_lines, ""]
        if failure.statement:
            lines += ["== statement ==", failure.statement, ""]
        lines += [f"== fix ({failure.confidence or 'hint'}) ==", failure.hint or "no known fix", ""]
    else:
        lines += [NO_ERROR_FOUND, alert.note, ""]
    if alert.log_tail:
        lines += ["== end of the job log ==", *alert.log_tail[-EXCERPT_TAIL_LINES:]]
    return redact("\n".join(lines)) + "\n"


def render_fixed(original: dict, run: RunInfo) -> discord.Embed:
    """The earlier alert (its embed's dict), marked fixed by ``run``'s commit."""
    embed = discord.Embed.from_dict(original)
    title = (embed.title or "").removeprefix("❌ ")
    embed.title = f"✅ Fixed: {title}"
    embed.colour = GREEN
    fixed_by = f"`{run.short_sha}` {redact(clip(run.commit_title, 200))}".strip()
    embed.add_field(name="Fixed by", value=f"{fixed_by}\n{_run_link(run)}", inline=False)
    return fit_embed(embed)


def render_fixed_reply(environment: str, run: RunInfo, alerts: int = 1) -> str:
    title = f" ({redact(clip(run.commit_title, 200))})" if run.commit_title else ""
    link = f" {run.attempt_url}" if run.attempt_url else ""
    which = f" ({alerts} failure alerts marked fixed)" if alerts > 1 else ""
    return clip(
        f"✅ {environment} migrations are green again: fixed by `{run.short_sha}`{title}.{which}{link}", CONTENT
    )


def render_burst_summary(alerts: Sequence[CiAlert]) -> discord.Embed:
    """One post standing for failures that arrived faster than the alert rate allows."""
    lines = []
    for alert in alerts:
        failure = alert.failure
        what = failure.file if failure is not None and failure.file else "Supabase Migrations"
        why = f" · {failure.sqlstate or ''} {failure.category}".rstrip() if failure is not None else ""
        link = f" · [run {alert.run.run_id}]({alert.run.attempt_url})" if alert.run.attempt_url else ""
        later = f" · superseded by `{alert.superseded_by.short_sha}`" if alert.superseded_by is not None else ""
        lines.append(redact(f"• {alert.environment} · `{what}`{why}{link}{later}"))
    chunks = pack_lines(lines, DESCRIPTION - 60)
    description = chunks[0] if chunks else ""
    if len(chunks) > 1:
        shown = description.count("\n") + 1
        description += f"\n… and {len(lines) - shown} more"
    embed = discord.Embed(
        title=f"⚠️ {len(alerts)} more migration run(s) failed",
        description=description + "\n(alerts are rate-limited; each run's page has the details)",
        colour=AMBER,
    )
    return fit_embed(embed)
