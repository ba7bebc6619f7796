"""Shared views: owner-only presses, time-outs that survive a deleted message."""

from __future__ import annotations

from unittest.mock import AsyncMock

import discord

from bot.chat.ui import Page, Paginator
from tests.fakes.helpers import make_interaction, make_member


def _not_found() -> discord.NotFound:
    class _Resp:
        status = 404
        reason = "Not Found"

    return discord.NotFound(_Resp(), {"code": 10008, "message": "Unknown Message"})


async def test_paginator_time_out_with_a_deleted_message():
    view = Paginator([Page(content="one"), Page(content="two")], owner_id=1)
    inter = make_interaction()
    await inter.response.defer()
    await view.send(inter)
    view.message.edit = AsyncMock(side_effect=_not_found())
    await view.on_timeout()  # must not raise
    assert all(item.disabled for item in view.children)


async def test_single_page_has_no_buttons():
    view = Paginator([Page(embeds=[discord.Embed(title="only")])], owner_id=1)
    inter = make_interaction()
    await view.send(inter)
    assert inter.sent[0]["view"] is discord.utils.MISSING and view.is_finished()


async def test_only_the_owner_may_turn_the_pages():
    owner = make_member(user_id=10)
    view = Paginator([Page(content="one"), Page(content="two")], owner_id=10)
    stranger = make_interaction()
    assert await view.interaction_check(stranger) is False
    assert "Only <@10>" in stranger.sent[-1]["content"]
    assert stranger.sent[-1]["ephemeral"] is True
    assert await view.interaction_check(make_interaction(user=owner)) is True
