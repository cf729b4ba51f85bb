"""`send_verdict`: the engine's send policies for a stored outbox row, contact and app."""

from __future__ import annotations

from typing import Any

import pytest

from wanode.codes.webex import MESSAGE_EXPIRED, NOT_CONSENTED, RE_ENGAGEMENT
from wanode.engine.policies import send_verdict
from wanode.policy import WINDOW_SECONDS, Policy

NOW = 1_750_000_000.0
HOUR = 3600.0
APP: dict[str, Any] = {"id": "app-1", "opt_in_categories": None}
TEXT: dict[str, Any] = {"kind": "text"}
MARKETING: dict[str, Any] = {"kind": "template", "template_category": "MARKETING"}


def _contact(
    *, last_inbound_at: float | None = None, opt_in_status: str | None = None
) -> dict[str, Any]:
    return {
        "last_inbound_at": last_inbound_at,
        "opt_in_status": opt_in_status,
        "opt_in_source": "web form" if opt_in_status else None,
        "opted_in_at": NOW - 86400 if opt_in_status == "opted_in" else None,
        "opted_out_at": NOW - HOUR if opt_in_status == "opted_out" else None,
    }


def _verdict(
    message: dict[str, Any],
    contact: dict[str, Any] | None,
    app: dict[str, Any] = APP,
    *,
    enforce_window: bool = True,
) -> Any:
    return send_verdict(message, contact, app, now=NOW, enforce_window=enforce_window)


def test_free_form_outside_the_window_is_refused_when_the_window_is_enforced() -> None:
    for contact in (None, _contact(last_inbound_at=NOW - WINDOW_SECONDS - 1)):
        verdict = _verdict(TEXT, contact)
        assert not verdict.allowed
        assert verdict.policy is Policy.WINDOW
        assert verdict.dr is RE_ENGAGEMENT


def test_free_form_inside_the_window_is_allowed() -> None:
    verdict = _verdict(TEXT, _contact(last_inbound_at=NOW - 2 * HOUR))
    assert verdict.allowed
    assert verdict.dr is None


@pytest.mark.parametrize(
    "contact", [None, _contact(last_inbound_at=NOW - 30 * 86400), _contact(opt_in_status=None)]
)
def test_without_window_enforcement_every_recipient_is_inside_it(
    contact: dict[str, Any] | None,
) -> None:
    assert _verdict(TEXT, contact, enforce_window=False).allowed
    # Opt-in is needed only outside the window, so an unconsented template goes too.
    assert _verdict(MARKETING, contact, enforce_window=False).allowed


def test_an_expired_message_is_refused_first_whatever_the_window() -> None:
    inside = _contact(last_inbound_at=NOW - HOUR, opt_in_status="opted_in")
    for enforce_window in (True, False):
        verdict = _verdict({**TEXT, "expires_at": NOW - 1}, inside, enforce_window=enforce_window)
        assert not verdict.allowed
        assert verdict.policy is Policy.EXPIRY
        assert verdict.dr is MESSAGE_EXPIRED
        # At the very instant of expiry the send may still go.
        for expires_at in (NOW, NOW + 1):
            message = {**TEXT, "expires_at": expires_at}
            assert _verdict(message, inside, enforce_window=enforce_window).allowed
    # Expiry comes before the window: a closed window is not what is reported.
    verdict = _verdict({**TEXT, "expires_at": NOW - 1}, None)
    assert verdict.dr is MESSAGE_EXPIRED


def test_a_template_outside_the_window_needs_an_opt_in() -> None:
    verdict = _verdict(MARKETING, None)
    assert not verdict.allowed
    assert verdict.policy is Policy.OPT_IN
    assert verdict.dr is NOT_CONSENTED
    assert _verdict(MARKETING, _contact(opt_in_status="opted_in")).allowed
    # Inside the window the default rule needs no opt-in.
    assert _verdict(MARKETING, _contact(last_inbound_at=NOW - HOUR)).allowed
    # A template of unknown category is covered by the default rule.
    assert _verdict({"kind": "template"}, None).dr is NOT_CONSENTED


def test_an_opt_out_refuses_templates_even_without_window_enforcement() -> None:
    opted_out = _contact(last_inbound_at=NOW - HOUR, opt_in_status="opted_out")
    for enforce_window in (True, False):
        verdict = _verdict(MARKETING, opted_out, enforce_window=enforce_window)
        assert verdict.dr is NOT_CONSENTED
        # Free-form messages are never covered by opt-in.
        assert _verdict(TEXT, opted_out, enforce_window=enforce_window).allowed


def test_the_apps_opt_in_categories_are_the_rule() -> None:
    utility_only = {**APP, "opt_in_categories": ["UTILITY"]}
    assert _verdict(MARKETING, None, utility_only).allowed
    utility = {"kind": "template", "template_category": "UTILITY"}
    assert _verdict(utility, None, utility_only).dr is NOT_CONSENTED
    # An empty list turns the check off.
    assert _verdict(utility, None, {**APP, "opt_in_categories": []}).allowed
