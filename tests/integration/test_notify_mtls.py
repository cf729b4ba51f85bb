"""Mutual TLS to a notify URL: a receiver on 127.0.0.1 that requires a client certificate gets
its DRs when wanode has one (WANODE_NOTIFY_CLIENT_CERT/_KEY), and none without it."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.support.harness import Harness, running, wait_until
from tests.support.receiver import free_port

from wanode.store import Database

pytestmark = pytest.mark.asyncio

HANDSET = "4915112345678"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(
    subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool, server: bool = False
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pki(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files."""
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _certificate("test CA", ca_key, "test CA", ca_key, ca=True)
    server = _certificate("127.0.0.1", server_key, "test CA", ca_key, ca=False, server=True)
    client = _certificate("wanode", client_key, "test CA", ca_key, ca=False)
    files: dict[str, Path] = {}
    for name, value in (("ca", ca), ("server", server), ("client", client)):
        files[name] = directory / f"{name}.pem"
        files[name].write_bytes(value.public_bytes(serialization.Encoding.PEM))
    for name, key in (("server_key", server_key), ("client_key", client_key)):
        files[name] = directory / f"{name}.pem"
        files[name].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return files


@asynccontextmanager
async def mtls_receiver(files: dict[str, Path]) -> AsyncIterator[tuple[str, list[bytes]]]:
    taken: list[bytes] = []

    async def dr(request: Request) -> Response:
        taken.append(await request.body())
        return Response(status_code=200)

    port = free_port()
    config = uvicorn.Config(
        Starlette(routes=[Route("/dr", dr, methods=["POST"])]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(files["server"]),
        ssl_keyfile=str(files["server_key"]),
        ssl_ca_certs=str(files["ca"]),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}/dr", taken
    finally:
        server.should_exit = True
        await task


async def given_up(wn: Harness) -> list[dict[str, Any]]:
    return list((await wn.client.get("/v1/delivery-reports")).json()["deliveryReports"])


async def test_a_receiver_that_requires_a_client_certificate_gets_its_drs(
    db: Database, tmp_path: Path
) -> None:
    files = pki(tmp_path)
    async with (
        mtls_receiver(files) as (url, taken),
        running(
            db,
            notify_client_cert=files["client"],
            notify_client_key=files["client_key"],
            notify_ca_file=files["ca"],
        ) as wn,
    ):
        await wn.send_text(HANDSET, "hi", notifyurl=url)

        async def count() -> int:
            return len(taken)

        await wait_until(count, lambda n: n == 3, timeout=20, what="3 DRs over mTLS")


async def test_without_a_client_certificate_the_receiver_takes_none(
    db: Database, tmp_path: Path
) -> None:
    files = pki(tmp_path)
    async with (
        mtls_receiver(files) as (url, taken),
        running(db, notify_ca_file=files["ca"], notify_retries=0) as wn,
    ):
        await wn.send_text(HANDSET, "hi", notifyurl=url)
        dead = await wait_until(
            lambda: given_up(wn), lambda rows: len(rows) == 3, timeout=20, what="3 given up"
        )
        assert taken == []
        assert all(row["lastStatusCode"] is None and row["lastError"] for row in dead)
