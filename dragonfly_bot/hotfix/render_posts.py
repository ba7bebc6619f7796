"""What the hotfix feature posts to #alerts, as neutral messages (``dragonfly_bot.chat.message``).

The #alerts post of a hotfix is rendered from the stored hotfix alone, so each
edit shows the whole current state: title, state, who, and buttons (Approve
only while a prod hotfix awaits approval). Updates in the thread, approval
re-pings and reminders are separate messages. User text (summary, SQL,
reasons, notes) is redacted and clipped here; it never pings: only the ids
listed in a message's ``Pings`` are notified.
"""

from __future__ import annotations

from datetime import datetime

from dragonfly_bot.chat.limits import DESCRIPTION, FIELD_VALUE, clip
from dragonfly_bot.chat.message import GREEN, GREY, ORANGE, RED, Button, Card, CardField, OutgoingMessage, Pings
from dragonfly_bot.core.hotfix import Hotfix, HotfixState, NewHotfix, Reminder, checklist_for, format_duration
from dragonfly_bot.core.hotfix_sql import differences
from dragonfly_bot.core.hotfix_timeline import ApprovalPing, Followup
from dragonfly_bot.core.redact import redact
from dragonfly_bot.hotfix.render_text import STATE_LABELS, one_line, when

SQL_PREVIEW = 900  # characters of SQL shown in the alert (inside a 1,024 field)
APPROVE_PREFIX = "hotfix:approve:"  # custom_id of the Approve button: + the code, or + the declaration id


def sql_block(sql: str | None, limit: int = SQL_PREVIEW) -> str:
    if not sql:
        return "_no SQL given_"
    text = redact(sql).replace("```", "'''")
    if len(text) > limit:
        text = text[:limit] + f"\n-- … {len(sql) - limit:,} more characters"
    return f"```sql\n{text}\n```"


def checklist(code: str, environment: str = "dev") -> str:
    steps = checklist_for(environment)
    return "\n".join(f"{i}. {step.format(code=code)}" for i, step in enumerate(steps, 1))


def approve_button(ref: str) -> Button:
    """``ref``: the HF code, or the declaration id while the store has not given it a code yet."""
    label = f"Approve {ref}" if ref.startswith("HF-") else "Approve"
    return Button(label=label, custom_id=f"{APPROVE_PREFIX}{ref}", style="success")


def _field(name: str, value: str, inline: bool = False) -> CardField:
    return CardField(clip(name, 256), clip(value or "-", FIELD_VALUE), inline)


def title_of(hotfix: Hotfix) -> str:
    """Says where the hotfix is now: "declared" only while it is."""
    if hotfix.state == HotfixState.DECLARED:
        return f"🚨 Hotfix {hotfix.code} declared in {hotfix.environment}"
    if hotfix.state == HotfixState.AWAITING_APPROVAL:
        return f"🚨 Hotfix {hotfix.code} in {hotfix.environment}: awaiting approval"
    return f"Hotfix {hotfix.code} in {hotfix.environment}: {hotfix.state}"


def _closed_fields(hotfix: Hotfix) -> list[CardField]:
    fields = []
    if hotfix.closed_unsynced:
        fields.append(
            _field(
                f"{hotfix.state.value.capitalize()} by {clip(hotfix.closed_by_name or '-', 100)}",
                redact(hotfix.closed_reason or "-"),
            )
        )
    if hotfix.state == HotfixState.RESOLVED and hotfix.resolved_by_name:
        fields.append(_field("Resolved by", clip(hotfix.resolved_by_name, 200), True))
    return fields


def alert_card(hotfix: Hotfix, details: dict[str, str] | None = None) -> Card:
    """The #alerts post's card; edited as the hotfix moves on, so it always shows the current state."""
    awaiting = hotfix.state == HotfixState.AWAITING_APPROVAL
    colour = GREY if hotfix.closed_unsynced else ORANGE if awaiting else RED if hotfix.unsynced else GREEN
    fields = [
        _field("Declared by", clip(hotfix.declared_by_name, 200), True),
        _field("State", STATE_LABELS.get(hotfix.state.value, hotfix.state.value), True),
    ]
    if hotfix.approved_by_name:
        fields.append(_field("Approved by", clip(hotfix.approved_by_name, 200), True))
    if hotfix.linked_file:
        fields.append(_field("Migration", f"`{hotfix.linked_file}`", True))
    fields += _closed_fields(hotfix)
    if awaiting:
        fields.append(
            _field(
                "Prod: approval needed",
                "A DevOps lead (not the declarer) must press **Approve** before anyone touches prod.",
            )
        )
    fields.append(_field("SQL", sql_block(hotfix.sql_text)))
    for key, name in (("impact", "Impact"), ("rollback", "Rollback")):
        if details and details.get(key):
            value = sql_block(details[key], 400) if key == "rollback" else redact(details[key])
            fields.append(_field(name, value))
    if hotfix.unsynced:
        fields.append(_field("If You Must Hotfix", checklist(hotfix.code, hotfix.environment)))
    return Card(
        title=title_of(hotfix),
        description=clip(redact(hotfix.summary), 1000),
        colour=colour,
        fields=tuple(fields),
        footer=f"declared {when(hotfix.declared_at)}",
    )


def thread_name(code: str | None, summary: str) -> str:
    return f"{code or 'HF (code pending)'} {redact(summary)}"[:100]


def _lead_pings(lead_role_id: int | None, backup_role_id: int | None = None) -> tuple[str, Pings]:
    roles = tuple(r for r in (lead_role_id, backup_role_id) if r is not None)
    text = " ".join(f"<@&{r}>" for r in roles) or "DevOps lead"
    return text, Pings(roles=roles)


def alert_message(
    hotfix: Hotfix, *, lead_role_id: int | None, details: dict[str, str] | None = None
) -> OutgoingMessage:
    """The #alerts post (and each of its edits): for prod awaiting approval, the lead ping and Approve."""
    card = alert_card(hotfix, details)
    if hotfix.state != HotfixState.AWAITING_APPROVAL:
        return OutgoingMessage(cards=(card,))
    ping, pings = _lead_pings(lead_role_id)
    return OutgoingMessage(
        content=f"{ping}: prod hotfix {hotfix.code} needs your approval before prod is touched.",
        cards=(card,),
        buttons=(approve_button(hotfix.code),),
        pings=pings,
    )


def pending_message(new: NewHotfix, *, lead_role_id: int | None) -> OutgoingMessage:
    """Posted when the store is down: the emergency is documented now, the code comes later.

    Prod still pings the lead and carries Approve: it works once the store is back (the
    button names the declaration id, which the store keeps as the hotfix's id)."""
    fields = [
        _field("Declared by", clip(new.declared_by_name, 200), True),
        _field(
            "Store unreachable",
            "Saved in the bot's local journal; it gets its HF code when the store is back (this post is then updated).",
        ),
        _field("SQL", sql_block(new.sql_text)),
        _field("If You Must Hotfix", checklist("(code pending)", new.environment)),
    ]
    card = Card(
        title=f"🚨 Hotfix declared in {new.environment} (code pending)",
        description=clip(redact(new.summary), 1000),
        colour=RED,
        fields=tuple(fields),
        footer=f"declaration {new.id[:8]}",
    )
    if new.state != HotfixState.AWAITING_APPROVAL:
        return OutgoingMessage(cards=(card,))
    ping, pings = _lead_pings(lead_role_id)
    return OutgoingMessage(
        content=f"{ping}: a prod hotfix (code pending) needs your approval before prod is touched.",
        cards=(card,),
        buttons=(approve_button(new.id),),
        pings=pings,
    )


def update_card(title: str, text: str, colour: int = GREEN) -> Card:
    return Card(title=clip(title, 256), description=clip(text, DESCRIPTION), colour=colour)


def findings_lines(hotfix: Hotfix) -> list[str]:
    findings = hotfix.link_findings or {}
    lines: list[str] = []
    missing = findings.get("missing") or []
    if missing:
        lines.append(f"⚠️ The migration does not contain {len(missing)} statement(s) run in Studio:")
        lines += [f"• `{one_line(m, 150)}`" for m in missing[:10]]
    different = findings.get("different_values") or []
    if different:
        lines.append(
            f"⚠️ {len(different)} statement(s) run in Studio are in the migration with the same shape but "
            "different values:"
        )
        for pair in different[:10]:
            theirs = (pair.get("migration") or ["?"])[0]
            lines.append(f"• Studio `{one_line(pair.get('declared'), 120)}` · migration `{one_line(theirs, 120)}`")
    undone = findings.get("undone") or []
    if undone:
        lines.append(f"⚠️ {len(undone)} statement(s) run in Studio are in the migration, then taken back:")
        for item in undone[:10]:
            lines.append(
                f"• Studio `{one_line(item.get('declared'), 100)}` · migration `{one_line(item.get('migration'), 100)}`"
                f" {one_line(item.get('why'), 80)}"
            )
    same_name = findings.get("same_name") or []
    if same_name:
        lines.append(f"⚠️ {len(same_name)} object(s) the migration creates under Studio's name with another definition:")
        for item in same_name[:10]:
            effect = (
                "IF NOT EXISTS silently does nothing on the hotfixed database (the name is taken)"
                if item.get("if_not_exists")
                else "it fails on the hotfixed database (the name is taken)"
            )
            lines.append(f"• {one_line(item.get('object'), 80)}: `{one_line(item.get('migration'), 120)}`: {effect}")
    if not findings.get("compared"):
        lines.append("ℹ️ No SQL was declared, so the migration could not be compared.")
    elif not differences(findings):
        lines.append("✅ The migration contains every statement declared.")
    issues = findings.get("not_idempotent") or []
    if issues:
        lines.append(f"⚠️ {len(issues)} statement(s) would fail where the hotfix already ran (not idempotent):")
        lines += [f"• line {i['line']}: {i['message']}" for i in issues[:10]]
    return lines


def linked_card(hotfix: Hotfix, *, automatic: bool) -> Card:
    how = "found automatically" if automatic else "linked"
    worrying = bool(differences(hotfix.link_findings) or hotfix.link_findings.get("not_idempotent"))
    return Card(
        title=f"🔗 {hotfix.code}: migration {how}",
        description=clip(f"`{hotfix.linked_file}`\n" + "\n".join(findings_lines(hotfix)), DESCRIPTION),
        colour=ORANGE if worrying else GREEN,
        footer=f"synced once {hotfix.linked_version} is applied in {hotfix.environment}",
    )


def differences_card(hotfix: Hotfix) -> Card:
    """Applied, but the migration does not carry what was run in Studio: not synced."""
    return update_card(
        f"⚠️ {hotfix.code} applied with differences",
        f"`{hotfix.linked_file}` is applied in {hotfix.environment}, but it does not carry the hotfix:\n"
        + "\n".join(findings_lines(hotfix))
        + f"\nNext: fix the file (or add one with `-- hotfix: {hotfix.code}`), or a DevOps lead accepts the "
        f"differences with `/hotfix accept {hotfix.code} reason:...`. Reminders go on until then.",
        ORANGE,
    )


def rechecked_message(hotfix: Hotfix) -> OutgoingMessage:
    """The linked migration changed: what the content check finds now."""
    card = update_card(
        f"🔍 {hotfix.code}: migration checked again",
        f"`{hotfix.linked_file}` changed.\n" + "\n".join(findings_lines(hotfix)),
        ORANGE if differences(hotfix.link_findings) else GREEN,
    )
    return OutgoingMessage(cards=(card,))


def accepted_message(hotfix: Hotfix, who: str | None = None, reason: str | None = None) -> OutgoingMessage:
    """Synced by a lead accepting the differences (who and why: known to the action, not to a re-publish)."""
    by = f" by {who}" if who else ""
    why = f"Reason: {redact(reason)}\n" if reason else ""
    card = update_card(
        f"🔄 {hotfix.code} synced: differences accepted{by}",
        f"{why}Last step: the post-incident review, `/hotfix resolve {hotfix.code} review:...`",
    )
    return OutgoingMessage(cards=(card,))


def state_update(hotfix: Hotfix, *, automatic: bool = False) -> OutgoingMessage | None:
    """The thread message that says what just happened (None: the state needs none)."""
    state = hotfix.state
    if state == HotfixState.SYNCED and differences(hotfix.link_findings):
        return accepted_message(hotfix)  # synced with differences: only a lead's accept does that
    if state == HotfixState.APPROVED:
        card = update_card(
            f"✅ {hotfix.code} approved by {hotfix.approved_by_name}",
            "Prod may now be touched. Next: create the matching migration file "
            f"(`-- hotfix: {hotfix.code}`) and push it.",
        )
    elif state == HotfixState.MIGRATION_LINKED:
        card = linked_card(hotfix, automatic=automatic)
    elif state == HotfixState.APPLIED_WITH_DIFFERENCES:
        card = differences_card(hotfix)
    elif state == HotfixState.SYNCED:
        card = update_card(
            f"🔄 {hotfix.code} synced",
            f"`{hotfix.linked_file}` is applied in {hotfix.environment}, "
            f"{format_duration(hotfix.time_to_sync())} after the hotfix was declared.\n"
            f"Last step: the post-incident review, `/hotfix resolve {hotfix.code} review:...`",
        )
    elif state == HotfixState.RESOLVED:
        card = update_card(
            f"🏁 {hotfix.code} resolved by {hotfix.resolved_by_name}", "Review: " + redact(hotfix.review or "")
        )
    elif hotfix.closed_unsynced:
        icon = "⛔" if state == HotfixState.REJECTED else "🚫"
        next_step = (
            "Do not touch prod for this hotfix."
            if state == HotfixState.REJECTED
            else "No migration is expected for it any more."
        )
        card = update_card(
            f"{icon} {hotfix.code} {state.value} by {hotfix.closed_by_name}",
            f"Reason: {redact(hotfix.closed_reason or '-')}\n{next_step} Reminders stopped.",
            GREY,
        )
    else:
        return None
    return OutgoingMessage(cards=(card,))


def approval_ping(
    hotfix: Hotfix, ping: ApprovalPing, *, lead_role_id: int | None, backup_role_id: int | None
) -> OutgoingMessage:
    backup = backup_role_id if ping.escalated else None
    mention, pings = _lead_pings(lead_role_id, backup)
    waited = format_duration(ping.waited)
    text = f"{mention}: prod hotfix {hotfix.code} has waited {waited} for approval (reminder {ping.number})."
    if backup is not None:
        text += " Escalated to the backup role."
    card = update_card(
        f"⏰ {hotfix.code} still needs a DevOps lead's approval",
        "Press **Approve** on the #alerts post, or `/hotfix approve` / `/hotfix reject` with a reason.",
        ORANGE,
    )
    return OutgoingMessage(content=text, cards=(card,), pings=pings)


def reminder(hotfix: Hotfix, item: Reminder, now: datetime, *, lead_role_id: int | None) -> OutgoingMessage:
    waited = format_duration(now - hotfix.declared_at)
    digits = hotfix.declared_by_id.isdigit()
    user = f"<@{hotfix.declared_by_id}>" if digits else hotfix.declared_by_name
    users = (int(hotfix.declared_by_id),) if digits else ()
    if item.recipient == "lead":
        mention, lead = _lead_pings(lead_role_id)
        content = f"{mention} {user}: {hotfix.code} has been unsynced for {waited}."
        pings = Pings(users=users, roles=lead.roles)
    else:
        lacks = (
            "its applied migration does not carry the hotfix yet"
            if hotfix.state == HotfixState.APPLIED_WITH_DIFFERENCES
            else "still has no applied migration"
        )
        content = f"{user}: {hotfix.code} {lacks} ({waited})."
        pings = Pings(users=users)
    next_step = {
        HotfixState.AWAITING_APPROVAL: "it is still waiting for a DevOps lead's approval",
        HotfixState.MIGRATION_LINKED: f"`{hotfix.linked_file}` is linked but not applied in {hotfix.environment} yet",
        HotfixState.APPLIED_WITH_DIFFERENCES: (
            f"`{hotfix.linked_file}` is applied but does not carry what was run in Studio: fix the file "
            f"(or add one with `-- hotfix: {hotfix.code}`), or a DevOps lead accepts with "
            f"`/hotfix accept {hotfix.code} reason:...`"
        ),
    }.get(hotfix.state, f"create the migration file with `-- hotfix: {hotfix.code}` and push it")
    card = update_card(f"⏰ {hotfix.code} reminder #{item.number}", f"Next step: {next_step}.", ORANGE)
    return OutgoingMessage(content=content, cards=(card,), pings=pings)


def note_message(hotfix: Hotfix, who: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(cards=(update_card(f"📝 {hotfix.code}: note by {who}", redact(text), GREY),))


def ran_message(hotfix: Hotfix, who: str, at: datetime) -> OutgoingMessage:
    return OutgoingMessage(
        cards=(update_card(f"▶️ {hotfix.code}: SQL run in Studio", f"{who} ran it at {when(at)}.", ORANGE),)
    )


def followup_message(hotfix: Hotfix, item: Followup, *, overdue: bool = False) -> OutgoingMessage:
    owner = f"<@{item.owner_id}>" if item.owner_id and item.owner_id.isdigit() else item.owner_name
    if overdue:
        title = f"⏰ {hotfix.code}: follow-up overdue (due {item.due.isoformat()})"
        pings = Pings(users=(int(item.owner_id),)) if item.owner_id and item.owner_id.isdigit() else Pings()
        return OutgoingMessage(
            content=f"{owner}: this follow-up of {hotfix.code} is past its due date.",
            cards=(update_card(title, redact(item.text), ORANGE),),
            pings=pings,
        )
    title = f"📌 {hotfix.code}: follow-up for {item.owner_name}, due {item.due.isoformat()}"
    return OutgoingMessage(cards=(update_card(title, redact(item.text), GREY),))
