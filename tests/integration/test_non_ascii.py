"""Whatever bytes a client puts in a query string or a header, the answer is never a 5xx.

`hmac.compare_digest` raises TypeError on a non-ASCII str: a verify token of `é` or a
signature of `sha256=é` used to be a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.integration.test_api_errors import body, signed, status_webhook
from tests.support.harness import Harness, running

from wanode.store import Database

pytestmark = pytest.mark.asyncio

# One service serves every example: building it per example would cost seconds.
EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# What an HTTP/1.1 server lets through in a header value: visible ASCII, spaces and tabs, and
# any byte from 0x80 (obs-text). Leading and trailing blanks are stripped on the wire.
HEADER_BYTE = st.sampled_from([9, *range(0x20, 0x7F), *range(0x80, 0x100)])
header_values = st.one_of(
    st.lists(HEADER_BYTE, max_size=80).map(bytes),
    st.text(st.characters(min_codepoint=0x20, exclude_categories=["Cs", "Cc"]), max_size=40).map(
        str.encode
    ),
).map(bytes.strip)
signatures = st.one_of(header_values, header_values.map(lambda value: b"sha256=" + value))
# Query values go percent-encoded, so any byte at all reaches the app's URL decoding.
query_values = st.one_of(
    st.binary(max_size=60).map(quote_from_bytes),
    st.text(max_size=40).map(lambda text: quote_from_bytes(text.encode("utf-8", "surrogatepass"))),
)


@pytest.fixture
async def wn(db: Database) -> AsyncIterator[Harness]:
    async with running(db, start_engine=False) as harness:
        yield harness


@EXAMPLES
@given(token=query_values, challenge=query_values)
@example(token="%C3%A9", challenge="1")
@example(token="%FF%FE", challenge="%C3%A9")
async def test_verify_handshake_with_any_token(wn: Harness, token: str, challenge: str) -> None:
    response = await wn.client.get(
        f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"
    )
    assert response.status_code == 403, response.text


@EXAMPLES
@given(challenge=query_values)
async def test_verify_handshake_echoes_any_challenge(wn: Harness, challenge: str) -> None:
    token = quote_from_bytes(wn.app["verify_token"].encode())
    response = await wn.client.get(
        f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"
    )
    assert response.status_code == 200, response.text


@EXAMPLES
@given(signature=signatures)
@example(signature="sha256=é".encode())
@example(signature=b"sha256=\xe9")
async def test_webhook_with_any_signature(wn: Harness, signature: bytes) -> None:
    raw = status_webhook(wn.app)
    response = await wn.client.post(
        "/webhooks/whatsapp",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert response.status_code == 401, response.text
    # The genuine signature is still accepted after all that.
    good = signed(raw, wn.app["app_secret"])
    response = await wn.client.post(
        "/webhooks/whatsapp", content=raw, headers={"x-hub-signature-256": good}
    )
    assert response.status_code == 200, response.text


@EXAMPLES
@given(key=header_values)
@example(key="é".encode())
@example(key=b"wk_\xe9")
async def test_messaging_with_any_key(wn: Harness, key: bytes) -> None:
    response = await wn.client.post(
        "/resources/v1/messaging", json=body(wn.app_id), headers={"key": key}
    )
    assert response.status_code == 401, response.text
    assert response.json()["response"]["code"] == ("7001" if key else "7002")
