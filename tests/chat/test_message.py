"""The neutral outgoing message and its one translation to discord.py objects."""

from __future__ import annotations

import discord
import pytest

from dragonfly_bot.chat import limits
from dragonfly_bot.chat.discord_message import edit_kwargs, send_kwargs, to_embed
from dragonfly_bot.chat.message import Attachment, Button, Card, OutgoingMessage, Pings
from tests.fakes.helpers import RecordingPoster


def test_a_card_becomes_an_embed_inside_discords_limits():
    card = Card(title="t" * 300, description="d" * 5000, colour=0x2ECC71, footer="f").with_field("n", "v" * 2000)
    embed = to_embed(card)
    assert embed.colour == discord.Colour.green()
    assert len(embed.title) == limits.TITLE and embed.title.endswith(limits.ELLIPSIS)
    assert len(embed.description) == limits.DESCRIPTION
    assert embed.fields[0].name == "n" and len(embed.fields[0].value) == limits.FIELD_VALUE
    assert embed.footer.text == "f"
    assert limits.message_problems(None, [embed]) == []


def test_send_kwargs_files_buttons_and_pings():
    message = OutgoingMessage(
        content="<@&9> please look",
        cards=(Card(title="x"),),
        attachments=(Attachment.text("report.txt", "all of it"),),
        buttons=(Button("Approve HF-0001", custom_id="hotfix:approve:HF-0001", style="success"),),
        pings=Pings(roles=(9,)),
    )
    kwargs = send_kwargs(message)
    [file] = kwargs["files"]
    assert file.filename == "report.txt" and file.fp.read() == b"all of it"
    view = kwargs["view"]
    assert view.timeout is None  # persistent: the press is routed by custom_id after a restart
    [button] = view.children
    assert button.custom_id == "hotfix:approve:HF-0001" and button.style == discord.ButtonStyle.success
    mentions = kwargs["allowed_mentions"]
    assert [r.id for r in mentions.roles] == [9] and mentions.everyone is False and not mentions.users
    # A fresh File each time: discord.py can send one only once.
    assert send_kwargs(message)["files"][0] is not file


def test_nobody_is_pinged_unless_listed_and_edits_drop_old_buttons():
    kwargs = send_kwargs(OutgoingMessage(content="@everyone <@1>"))
    assert kwargs["allowed_mentions"].to_dict() == discord.AllowedMentions.none().to_dict()
    assert "view" not in kwargs
    edit = edit_kwargs(OutgoingMessage(cards=(Card(title="fixed"),)))
    assert edit["view"] is None and "attachments" not in edit  # old files stay on the post


def test_a_message_survives_a_round_trip_through_json():
    import json
    from datetime import UTC, datetime

    message = OutgoingMessage(
        content="c",
        cards=(Card(title="t", colour=0xE74C3C, timestamp=datetime(2026, 1, 2, tzinfo=UTC)).with_field("n", "v"),),
        attachments=(Attachment("log.txt", b"\x00\xffbytes"),),
        buttons=(Button("Approve", custom_id="hotfix:approve:HF-0001", style="success"),),
        pings=Pings(users=(1,), roles=(2,)),
    )
    assert OutgoingMessage.from_dict(json.loads(json.dumps(message.to_dict()))) == message
    assert message.first_title == "t" and OutgoingMessage().first_title is None


def test_a_button_is_either_routed_or_a_link():
    with pytest.raises(ValueError):
        Button("neither")
    with pytest.raises(ValueError):
        Button("both", custom_id="a", url="https://x")


async def test_legacy_posters_take_neutral_messages_too():
    poster = RecordingPoster()
    ref = await poster.post("alerts", OutgoingMessage(content="hi", cards=(Card(title="A"),)), thread_name="T")
    await poster.edit_post(ref, OutgoingMessage(cards=(Card(title="B"),)))
    reply = await poster.reply_to(ref, OutgoingMessage(content="more"))
    [sent] = poster.posts_to("alerts")
    assert sent["content"] == "hi" and sent["embeds"][0].title == "A" and sent["thread_name"] == "T"
    assert poster.edits[0]["embeds"][0].title == "B"
    assert reply.thread_id == ref.thread_id
