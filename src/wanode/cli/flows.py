"""`wanode flows`: deploy flow definitions, list flows, start runs and show a run with its
history, through a running wanode's `/v1/flows` API (like `wanode templates`, it speaks HTTP with
--url and --key: runs live in the service, which performs their steps)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import httpx

flows = typer.Typer(no_args_is_help=True, help="Flows: deploy definitions, start and show runs")

out = Console()
err = Console(stderr=True)

DEFAULT_URL = "http://127.0.0.1:8080"
Url = Annotated[str, typer.Option(help="wanode base URL")]
Key = Annotated[str | None, typer.Option(envvar="WANODE_API_KEY", help="API key")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON, not tables")]


@flows.command("deploy")
def deploy(
    file: Annotated[Path, typer.Argument(help="The flow definition, YAML or JSON (.json)")],
    app: Annotated[
        str | None,
        typer.Option("--app", help="App id (default: the definition's, or the only one)"),
    ] = None,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Check a definition and store it as the flow's next version.

    Prints the flow's id and version, or every problem found (node and field), exit code 1.
    """
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"{file}: {exc.strerror or exc}") from exc
    content_type = "application/json" if file.suffix.lower() == ".json" else "application/yaml"
    with _client(url, key) as client:
        response = _request(
            client,
            "POST",
            "/v1/flows",
            content=raw,
            headers={"content-type": content_type},
            params={"app": app} if app else None,
        )
    body = _answer(response)
    if response.status_code == 400 and isinstance(body.get("problems"), list):
        problems = body["problems"]
        err.print(f"{file}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
        for problem in problems:
            field = problem.get("field")
            # A message's problem already starts with its field's path.
            if field and str(problem["message"]).startswith(f"{field}: "):
                field = None
            where = " ".join(
                part
                for part in (
                    f"node {problem['node']}" if problem.get("node") else "",
                    f"field {field}" if field else "",
                )
                if part
            )
            err.print(f"  {where or 'flow'}: {problem['message']}", markup=False)
        raise typer.Exit(1)
    _fail_on_error(response, body)
    out.print(
        f"deployed flow {body['id']} version {body['version']} (app {body['app_id']})",
        markup=False,
    )


@flows.command("list")
def list_flows(as_json: AsJson = False, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """List the deployed flows and their current versions."""
    with _client(url, key) as client:
        found = _ok(_request(client, "GET", "/v1/flows"))["flows"]
    if as_json:
        out.print_json(json.dumps(found))
        return
    table = Table("id", "name", "version", "app", "enabled", "whatsapp trigger", "updated")
    for flow in found:
        table.add_row(
            flow["id"],
            flow["name"],
            str(flow["version"]),
            flow["app_id"] or "",
            "yes" if flow["enabled"] else "no",
            "yes" if flow["whatsapp_trigger"] else "no",
            flow["updated_at"],
        )
    out.print(table)


@flows.command("run")
def run(
    flow_id: Annotated[str, typer.Argument(help="The flow's id")],
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="An input variable, NAME=VALUE (repeat the option)"),
    ] = None,
    waid: Annotated[
        str | None,
        typer.Option("--waid", help="The run's contact (what a Receive node without `from` hears)"),
    ] = None,
    as_json: AsJson = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Start a run of the flow's current version (its Start node's API trigger).

    The run goes on until it waits or ends; its state is printed then.
    """
    variables: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--var")
        variables[name.strip()] = value
    body: dict[str, Any] = {"variables": variables}
    if waid is not None:
        body["waid"] = waid
    with _client(url, key) as client:
        started = _ok(_request(client, "POST", f"/v1/flows/{flow_id}/runs", json=body))
    if as_json:
        out.print_json(json.dumps(started))
        return
    _print_run(started)


@flows.command("show")
def show(
    flow_id: Annotated[str, typer.Argument(help="The flow's id")],
    run_id: Annotated[str, typer.Argument(help="The run's id")],
    as_json: AsJson = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Show a run: its state, what it waits for, node outputs and its history."""
    with _client(url, key) as client:
        found = _ok(_request(client, "GET", f"/v1/flows/{flow_id}/runs/{run_id}"))
    if as_json:
        out.print_json(json.dumps(found))
        return
    _print_run(found)


def _print_run(run: dict[str, Any]) -> None:
    out.print(f"run {run['id']} of flow {run['flow_id']} version {run['version']}", markup=False)
    out.print(f"status: {run['status']} at node {run['node']}", markup=False)
    if run.get("contact"):
        out.print(f"contact: {run['contact']}", markup=False)
    waiting = run.get("waiting_for")
    if waiting:
        details = ", ".join(f"{k} {v}" for k, v in waiting.items() if k != "kind" and v)
        out.print(f"waiting for: {waiting['kind']} ({details})", markup=False)
    if run.get("result"):
        out.print(f"result: {_text(run['result'])}", markup=False)
    if run.get("variables"):
        out.print(f"variables: {_text(run['variables'])}", markup=False)
    outputs = run.get("outputs") or {}
    if outputs:
        table = Table("node", "output", "value", title="outputs")
        for node, values in outputs.items():
            for name, value in values.items():
                table.add_row(node, name, _text(value))
        out.print(table)
    history = run.get("history")
    if history:
        table = Table("at", "node", "outcome", "variables", title="history")
        for entry in history:
            table.add_row(entry["at"], entry["node"], entry["outcome"], _text(entry["variables"]))
        out.print(table)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _client(url: str, key: str | None) -> httpx.Client:
    # Imported here: `--help` and the other commands start without the HTTP client.
    import httpx

    if not key:
        raise typer.BadParameter("an API key is needed: --key or WANODE_API_KEY")
    return httpx.Client(base_url=url, headers={"key": key}, timeout=30)


def _request(client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    import httpx

    try:
        return client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"cannot reach wanode at {client.base_url}: {exc}", markup=False)
        raise typer.Exit(1) from exc


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _fail_on_error(response: httpx.Response, body: dict[str, Any]) -> None:
    """An error answer is printed and ends the command (exit 1)."""
    if response.status_code < 400:
        return
    if body:
        err.print_json(json.dumps(body))
    else:
        err.print(response.text or f"HTTP {response.status_code}", markup=False)
    raise typer.Exit(1)


def _ok(response: httpx.Response) -> dict[str, Any]:
    body = _answer(response)
    _fail_on_error(response, body)
    return body
