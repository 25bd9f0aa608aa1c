"""Telegram buttons act only for the people the message was for (issue #11 §6).

Real python-telegram-bot against the Bot API stand-in, real PostgreSQL: forged or unsigned
callback data, presses from another chat or another message, and roles that may not resolve
are refused and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from castwatch.common import alerts
from castwatch.common.alerts import AlertKey
from castwatch.common.env import ConfigError
from castwatch.common.models import Alert
from castwatch.notifier.settings import NotifySettings
from castwatch.notifier.signing import CALLBACK_DATA_LIMIT, derive_key, sign, verify
from castwatch.simulators.telegram.standin import BotApiStandIn

from .conftest import NotifierThread, add_person, add_rule, notify_settings, wait_for


def fire(db: Session, subject: str = "CH1/720p") -> Alert:
    alert, _ = alerts.fire(db, AlertKey("probe", subject, "PLAYLIST_STALE"), severity="critical",
                           summary="Playlist stale")
    db.commit()
    return alert


def state(db: Session, alert: Alert) -> str:
    db.expire_all()
    return db.scalars(select(Alert.state).where(Alert.id == alert.id)).one()


def buttons(msg: dict[str, Any]) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for b in msg["reply_markup"]["inline_keyboard"][0]}


def press_and_answer(standin: BotApiStandIn, user: int, chat: int, message_id: int, data: str) -> str:
    before = len(standin.answers)
    standin.press(user_id=user, chat_id=chat, message_id=message_id, data=data)
    wait_for(lambda: len(standin.answers) > before)
    return str(standin.answers[before]["text"])


def test_callback_data_is_signed_fits_64_bytes_and_any_change_is_refused() -> None:
    key = derive_key(None, "123:TOKEN")
    longest = sign(key, f"cw:resolve:d{2**63 - 1}")
    assert len(longest.encode()) <= CALLBACK_DATA_LIMIT
    assert verify(key, longest) == f"cw:resolve:d{2**63 - 1}"
    payload, _, tag = longest.rpartition(":")
    assert verify(key, f"cw:resolve:d{2**63 - 2}:{tag}") is None  # another delivery
    assert verify(key, payload) is None  # unsigned
    assert verify(derive_key(None, "456:OTHER"), longest) is None  # another bot's key
    assert verify(derive_key("operator secret", "123:TOKEN"), longest) is None
    assert derive_key("s", "123:TOKEN") == b"s"


def test_a_forged_or_unsigned_press_is_refused_and_changes_nothing(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "eddie", role="engineer", telegram_chat_id=22)
    add_rule(db, roles=["engineer"], transports=["telegram"])
    alert = fire(db)
    notifier(notify_settings(standin))
    [msg] = wait_for(lambda: standin.messages_to(22))
    signed = buttons(msg)["Resolve"]
    payload, _, tag = signed.rpartition(":")
    assert payload.startswith("cw:resolve:d") and len(tag) == 22
    forged = sign(derive_key("guessed", None), payload)
    for data in (payload, forged, f"{payload}:{'A' * 22}", "cw:resolve:d1"):
        answer = press_and_answer(standin, 22, 22, msg["message_id"], data)
        assert "altered" in answer
    assert state(db, alert) == "firing" and standin.edits == []
    assert "Resolved by eddie" in press_and_answer(standin, 22, 22, msg["message_id"], signed)
    assert state(db, alert) == "resolved"


def test_a_press_from_another_chat_or_another_message_is_refused(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "eddie", role="engineer", telegram_chat_id=22)
    add_person(db, "mona", role="management", telegram_chat_id=33)
    add_rule(db, roles=["engineer", "management"], transports=["telegram"])
    alert = fire(db)
    notifier(notify_settings(standin))
    [to_eddie] = wait_for(lambda: standin.messages_to(22))
    [to_mona] = wait_for(lambda: standin.messages_to(33))
    eddies = buttons(to_eddie)["Acknowledge"]
    # mona replays eddie's (validly signed) data from her own chat and message
    assert "not belong" in press_and_answer(standin, 33, 33, to_mona["message_id"], eddies)
    # eddie's own user id, but pressed in mona's chat
    assert "not belong" in press_and_answer(standin, 22, 33, to_eddie["message_id"], eddies)
    # mona pressing in eddie's chat on eddie's message: the message was not for her
    assert "not for you" in press_and_answer(standin, 33, 22, to_eddie["message_id"], eddies)
    assert state(db, alert) == "firing" and standin.edits == []
    assert "Acknowledged by mona" in press_and_answer(
        standin, 33, 33, to_mona["message_id"], buttons(to_mona)["Acknowledge"])
    assert state(db, alert) == "acknowledged"


def test_a_cablecaster_acknowledges_but_cannot_resolve_or_snooze_by_default(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    add_person(db, "carl", role="cablecaster", telegram_chat_id=44)
    add_rule(db, roles=["cablecaster"], transports=["telegram"])
    alert = fire(db)
    notifier(notify_settings(standin))
    [msg] = wait_for(lambda: standin.messages_to(44))
    data = buttons(msg)
    assert "may not resolve" in press_and_answer(standin, 44, 44, msg["message_id"], data["Resolve"])
    assert "may not snooze" in press_and_answer(standin, 44, 44, msg["message_id"], data["Snooze 1h"])
    assert state(db, alert) == "firing"
    assert "Acknowledged by carl" in press_and_answer(standin, 44, 44, msg["message_id"],
                                                      data["Acknowledge"])
    assert state(db, alert) == "acknowledged"


def test_the_roles_allowed_per_button_are_configurable(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    settings = NotifySettings.from_env({"NOTIFY_RESOLVE_ROLES": "cablecaster, engineer"})
    assert settings.roles_for("resolve") == ("cablecaster", "engineer")
    assert settings.roles_for("ack") == ("cablecaster", "technician", "engineer", "management")
    with pytest.raises(ConfigError, match="NOTIFY_SNOOZE_ROLES"):
        NotifySettings.from_env({"NOTIFY_SNOOZE_ROLES": "janitor"})
    add_person(db, "carl", role="cablecaster", telegram_chat_id=44)
    add_rule(db, roles=["cablecaster"], transports=["telegram"])
    alert = fire(db)
    notifier(notify_settings(standin, button_roles=settings.button_roles))
    [msg] = wait_for(lambda: standin.messages_to(44))
    assert "Resolved by carl" in press_and_answer(standin, 44, 44, msg["message_id"],
                                                  buttons(msg)["Resolve"])
    assert state(db, alert) == "resolved"


def test_in_a_group_chat_a_member_registered_for_that_chat_may_press_and_others_may_not(
        db: Session, standin: BotApiStandIn, notifier: Callable[..., NotifierThread]) -> None:
    group = add_person(db, "night-shift", role="engineer", telegram_chat_id=-100, telegram_user_id=55)
    add_person(db, "eddie", role="engineer", telegram_chat_id=22)  # a recipient, not in the group
    add_person(db, "gina", role="engineer", telegram_chat_id=-100, telegram_user_id=66)
    add_rule(db, "night", roles=[], recipient_ids=[group.id], transports=["telegram"])
    alert = fire(db)
    notifier(notify_settings(standin))
    [msg] = wait_for(lambda: standin.messages_to(-100))
    data = buttons(msg)["Acknowledge"]
    assert "not for you" in press_and_answer(standin, 22, -100, msg["message_id"], data)
    assert "not a castwatch recipient" in press_and_answer(standin, 77, -100, msg["message_id"], data)
    assert state(db, alert) == "firing"
    assert "Acknowledged by gina" in press_and_answer(standin, 66, -100, msg["message_id"], data)
    assert state(db, alert) == "acknowledged"
