"""Callback data: what we encode decodes back; anything else is refused, never crashes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aseanbot.callbacks import (
    CallbackDataError,
    ListPage,
    Menu,
    OpenItem,
    SearchPage,
    decode,
    encode,
)
from aseanbot.models import ItemQuery


@pytest.mark.parametrize(
    "action",
    [
        OpenItem("5th-adgmin-bangkok-2025"),
        ListPage(ItemQuery(kind="event"), 0),
        ListPage(ItemQuery(kind="initiative", topic="ai-governance", country="TH"), 3),
        ListPage(ItemQuery(partner="US", year=2025), 12),
        ListPage(ItemQuery(), 1),
        SearchPage("bangkok declaration", 2),
        Menu("latest"),
    ],
)
def test_encoded_actions_decode_to_themselves(action: object) -> None:
    data = encode(action)  # type: ignore[arg-type]
    assert data is not None
    assert len(data.encode()) <= 64
    assert decode(data) == action


def test_an_action_too_long_for_telegram_is_not_encoded() -> None:
    assert encode(SearchPage("word " * 20, 0)) is None


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "x",
        "o|",
        "o|UPPER",
        "o|../etc",
        "l|x|k=event",
        "l|1|k=party",
        "l|1|z=1",
        "l|1|t=a;t=b",
        "l|99999|",
        "l|1|y=20x5",
        "s|1|",
        "s|-1|words",
        "m|admin",
        "l" * 65,
    ],
)
def test_forged_or_stale_data_is_refused(data: str | None) -> None:
    with pytest.raises(CallbackDataError):
        decode(data)


@given(st.text(max_size=80))
def test_decode_never_raises_anything_but_callback_data_error(data: str) -> None:
    with contextlib.suppress(CallbackDataError):
        decode(data)
