"""Whatever a Telegram user types, the bot answers in words (usage, an error it explains,
or the result) and never fails: commands with arbitrary arguments, NUL characters,
huge words."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications.commands import COMMANDS, respond

pytestmark = pytest.mark.django_db

WORDS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["symbol", "exchange", "type", "min_net_edge", "risk", "clear", "instant", "digest", "BTC"]),
    st.from_regex(r"[a-z_]{1,12}=[A-Za-z0-9,.\-\x00]{0,20}", fullmatch=True),
    st.just("x" * 5000),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from([*COMMANDS, "unknown"]),
    args=st.lists(WORDS, max_size=5),
    chat_id=st.integers(min_value=1, max_value=5),
)
def test_every_command_with_any_arguments_gets_a_short_reply(command: str, args: list[str], chat_id: int) -> None:
    reply = respond(chat_id, "alice", " ".join([f"/{command}", *args]))
    assert isinstance(reply, str) and reply
    assert len(reply) < 4096, "Telegram's limit for one message"
