"""Shared views: owner-only presses, time-outs that survive a deleted message, confirm results."""

from __future__ import annotations

from unittest.mock import AsyncMock

import discord

from bot.chat.ui import ConfirmView, Page, Paginator
from tests.helpers import make_interaction, make_member


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


async def test_confirm_view_owner_only_and_result():
    owner = make_member(user_id=10)
    view = ConfirmView(owner_id=10, confirm_label="Approve")
    assert view.confirm.label == "Approve"
    stranger = make_interaction()
    assert await view.interaction_check(stranger) is False
    assert "Only <@10>" in stranger.sent[-1]["content"]
    presser = make_interaction(user=owner)
    assert await view.interaction_check(presser)
    await view.confirm.callback(presser)
    assert await view.wait_for_choice() is True and view.pressed_by is owner
    assert presser.sent[-1]["via"] == "edit_message" and all(i.disabled for i in view.children)


async def test_confirm_view_custom_check_refuses_with_its_message():
    async def not_yourself(interaction):
        return "You cannot approve your own hotfix." if interaction.user.id == 10 else None

    view = ConfirmView(check=not_yourself)
    declarer = make_interaction(user=make_member(user_id=10))
    assert await view.interaction_check(declarer) is False
    assert declarer.sent[-1] == {"via": "response", "content": "You cannot approve your own hotfix.", "ephemeral": True}
    lead = make_interaction(user=make_member(user_id=11))
    assert await view.interaction_check(lead) is True
    await view.cancel.callback(lead)
    assert view.value is False
