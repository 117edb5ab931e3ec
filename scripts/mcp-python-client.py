"""The checks scripts/mcp-python-client runs with the official Python MCP client against
`kopilot mcp --demo --offline` over stdio. Exits non-zero, saying what failed, on any miss."""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client, types

READ_TOOLS = ["analyze", "read_resource", "get_logs", "get_events", "get_metrics", "assess_command"]
COMMAND_TOOLS = ["run_kubectl", "ask"]

checks = 0


def check(ok: bool, what: str) -> None:
    global checks
    if not ok:
        raise SystemExit(f"mcp-python-client: FAILED: {what}")
    checks += 1


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def main() -> None:
    binary = os.environ["KOPILOT_MCP_BINARY"]
    params = StdioServerParameters(
        command=binary,
        args=["mcp", "--transport", "stdio", "--demo", "--offline"],
        env={
            "KOPILOT_DATA_DIR": os.environ["KOPILOT_DATA_DIR"],
            "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
            "PATH": os.environ["PATH"],
        },
    )
    with open(os.environ["KOPILOT_MCP_STDERR"], "w") as errlog:
        try:
            async with stdio_client(params, errlog=errlog) as (read, write):
                info = types.Implementation(name="python-check", version="1.0")
                async with ClientSession(read, write, client_info=info) as session:
                    await run(session)
        finally:
            errlog.flush()
            with open(os.environ["KOPILOT_MCP_STDERR"]) as log:
                tail = log.read()[-4000:]
            if tail:
                print("mcp-python-client: the server's standard error:\n" + tail, file=sys.stderr)


async def run(session: ClientSession) -> None:
    init = await session.initialize()
    check(init.server_info.name == "kopilot", f"server name {init.server_info.name!r}")

    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    check(sorted(tools) == sorted(READ_TOOLS + COMMAND_TOOLS), f"tools: {sorted(tools)}")
    for name in READ_TOOLS:
        annotations = tools[name].annotations
        check(annotations is not None and annotations.read_only_hint is True, f"{name} is read-only")
        check(annotations.destructive_hint is False, f"{name} is not destructive")
    for name in COMMAND_TOOLS:
        annotations = tools[name].annotations
        check(annotations is not None and annotations.read_only_hint is False, f"{name} is not read-only")
    for name, tool in tools.items():
        schema = tool.input_schema
        check(schema.get("type") == "object", f"{name}'s input schema is an object: {schema}")
        words = json.dumps(schema)
        for word in ("context", "kubeconfig", "server"):
            check(f'"{word}"' not in words, f"{name} takes no `{word}` argument")
    check(tools["run_kubectl"].input_schema.get("required") == ["args"], "run_kubectl requires args")
    output = tools["analyze"].output_schema or {}
    check("findings" in output.get("properties", {}), f"analyze's output schema: {output}")

    analysis = await session.call_tool("analyze", {})
    check(not analysis.is_error, f"analyze failed: {text_of(analysis)}")
    outcome = analysis.structured_content or {}
    check(outcome.get("status") == "succeeded", f"analyze's status: {outcome.get('status')}")
    findings = outcome.get("findings") or []
    check(len(findings) > 0, "analyze found nothing on the demo cluster")
    for finding in findings:
        for field in ("check", "severity", "object", "message", "recommendation"):
            check(field in finding, f"a finding without `{field}`: {finding}")
    checks_seen = {finding["check"] for finding in findings}
    print(f"mcp-python-client: analyze: {len(findings)} findings ({', '.join(sorted(checks_seen))})")

    read = await session.call_tool("run_kubectl", {"args": ["get", "pods", "-A"]})
    check(not read.is_error, f"run_kubectl get pods failed: {text_of(read)}")
    check("NAME" in text_of(read), f"run_kubectl's output: {text_of(read)[:500]}")
    check((read.structured_content or {}).get("status") == "succeeded", "run_kubectl's status")

    verdict = await session.call_tool("assess_command", {"command": "kubectl delete namespace shop"})
    decision = (verdict.structured_content or {}).get("decision")
    check(decision in ("approve", "block"), f"the verdict: {decision}")

    # The client declares no elicitation: a mutation is denied with the reason, and does not run.
    change = await session.call_tool(
        "run_kubectl", {"args": ["scale", "deployment", "web", "--replicas=5", "-n", "shop"]}
    )
    check(change.is_error, f"an unapproved mutation succeeded: {text_of(change)}")
    check("cannot ask its human" in json.dumps(change.structured_content), f"the reason: {change.structured_content}")


def stdout_is_only_json_rpc() -> None:
    """Runs the server once more with a scripted session on a pipe, and checks that every line
    it wrote to standard output is a JSON-RPC message (notes and logs go to standard error)."""
    import subprocess

    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "pipe-check", "version": "1.0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    stdin = "".join(json.dumps(m) + "\n" for m in messages)
    env = {k: os.environ[k] for k in ("KOPILOT_DATA_DIR", "XDG_CONFIG_HOME", "PATH")}
    env["RUST_LOG"] = "debug"
    run = subprocess.run(
        [os.environ["KOPILOT_MCP_BINARY"], "mcp", "--demo", "--offline"],
        input=stdin, capture_output=True, text=True, env=env, timeout=120,
    )
    lines = run.stdout.splitlines()
    ids = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            check(False, f"a line on standard output is not JSON: {line[:200]!r}")
        check(message.get("jsonrpc") == "2.0", f"not a JSON-RPC message on standard output: {line[:200]}")
        ids.append(message.get("id"))
    check(ids == [1, 2], f"the answers on standard output: ids {ids}")
    check("serving MCP on stdio" in run.stderr, "the start-up note went to standard error")


asyncio.run(main())
stdout_is_only_json_rpc()
print(f"mcp-python-client: {checks} passed, 0 failed")
