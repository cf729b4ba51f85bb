"""`wanode templates`: create, list, show, delete and sync message templates through a running
wanode's `/v1/templates` API (like `wanode send`, it speaks HTTP with --url and --key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from wanode.cli.send import first_app

if TYPE_CHECKING:
    import httpx

templates = typer.Typer(no_args_is_help=True, help="Message templates")

out = Console()
err = Console(stderr=True)

Url = Annotated[str, typer.Option(help="wanode base URL")]
Key = Annotated[str | None, typer.Option(envvar="WANODE_API_KEY", help="API key")]
App = Annotated[str | None, typer.Option("--app", help="App id (default: the first app)")]
DEFAULT_URL = "http://127.0.0.1:8080"


def load_body(path: Path) -> dict[str, Any]:
    """A create body from a YAML or JSON file (`.json` is read as JSON, anything else as YAML)."""
    # Imported here, as httpx below: `--help` and the other commands start without them.
    import yaml

    try:
        raw = path.read_text()
        value = json.loads(raw) if path.suffix.lower() == ".json" else yaml.safe_load(raw)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"{path}: {exc}") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter(
            f"{path} must hold one object: Meta's create body (name, language, category, "
            "components)"
        )
    return value


@templates.command("create")
def create(
    file: Annotated[
        Path, typer.Argument(help="YAML or JSON file: name, language, category, components")
    ],
    app: App = None,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Submit a template for WhatsApp's review; prints it as registered (status PENDING)."""
    body = load_body(file)
    body.pop("appid", None)
    with _client(url, key) as client:
        response = _call(client, "POST", "/v1/templates", json={"appid": _app(client, app), **body})
    out.print_json(json.dumps(response.json()))


@templates.command("list")
def list_templates(
    app: App = None,
    status: Annotated[str | None, typer.Option(help="e.g. APPROVED or PENDING,REJECTED")] = None,
    name: Annotated[str | None, typer.Option(help="Only templates with this name")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table")] = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """List the registry's templates (run `wanode templates sync` first for Meta's latest)."""
    query = {k: v for k, v in {"appid": app, "status": status, "name": name}.items() if v}
    with _client(url, key) as client:
        found = _call(client, "GET", "/v1/templates", params=query).json()["templates"]
    if as_json:
        out.print_json(json.dumps(found))
        return
    table = Table("id", "name", "language", "category", "status", "parameters")
    for template in found:
        status_text = template["status"]
        if template["rejected_reason"]:
            status_text += f" ({template['rejected_reason']})"
        parameters = template["parameters"]
        table.add_row(
            template["id"],
            template["name"],
            template["language"],
            template["category"],
            status_text,
            ", ".join(parameters) if parameters is not None else "?",
        )
    out.print(table)


@templates.command("show")
def show(
    template_id: Annotated[str, typer.Argument(help="The template's id")],
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Print one template as the registry holds it."""
    with _client(url, key) as client:
        response = _call(client, "GET", f"/v1/templates/{template_id}")
    out.print_json(json.dumps(response.json()))


@templates.command("delete")
def delete(
    template_id: Annotated[str, typer.Argument(help="The template's id")],
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Delete a template (that language only) at WhatsApp."""
    with _client(url, key) as client:
        _call(client, "DELETE", f"/v1/templates/{template_id}")
    out.print(f"template {template_id} deleted")


@templates.command("sync")
def sync(app: App = None, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """Pull every WABA's templates (or --app's) from WhatsApp into the registry now."""
    with _client(url, key) as client:
        body = {"appid": app} if app else {}
        reports = _call(client, "POST", "/v1/templates/sync", json=body).json()["synced"]
    for report in reports:
        if report["error"]:
            err.print(f"WABA {report['waba_id']}: {report['error']}")
        else:
            out.print(
                f"WABA {report['waba_id']}: {report['listed']} listed, {report['created']} new, "
                f"{report['updated']} updated, {report['deleted']} deleted"
            )
    if any(report["error"] for report in reports):
        raise typer.Exit(1)


def _client(url: str, key: str | None) -> httpx.Client:
    import httpx

    if not key:
        raise typer.BadParameter("an API key is needed: --key or WANODE_API_KEY")
    return httpx.Client(base_url=url, headers={"key": key}, timeout=30)


def _app(client: httpx.Client, app: str | None) -> str:
    return app or first_app(client)


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The answer to a request; an error answer is printed and ends the command (exit 1)."""
    import httpx

    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"cannot reach wanode at {client.base_url}: {exc}")
        raise typer.Exit(1) from exc
    if response.status_code >= 400:
        try:
            err.print_json(json.dumps(response.json()))
        except ValueError:
            err.print(response.text)
        raise typer.Exit(1)
    return response
