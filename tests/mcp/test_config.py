"""The MCP server file: the common mcpServers format, Concierge's keys, and one clear line for each mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.mcp.config import HttpServer, McpConfigError, NeverApproval, StdioServer, load_mcp_config, parse_mcp_config
from bot.settings import load_settings

PASTED = {
    "mcpServers": {
        "clock": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "wiki": {"url": "https://mcp.example.org/mcp", "headers": {"Authorization": "Bearer ${WIKI_TOKEN}"}},
    }
}


def parse(servers: dict[str, object], environ: dict[str, str] | None = None) -> list[StdioServer | HttpServer]:
    return parse_mcp_config(json.dumps({"mcpServers": servers}), environ=environ or {})


def problem(servers: dict[str, object], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(McpConfigError) as caught:
        parse(servers, environ)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_pasted_mcp_servers_file_gives_a_stdio_and_an_http_server_with_secrets_from_the_environment() -> None:
    clock, wiki = parse_mcp_config(json.dumps(PASTED), environ={"WIKI_TOKEN": "s3cret"})
    assert isinstance(clock, StdioServer)
    assert (clock.name, clock.command, clock.args, clock.env) == ("clock", "uvx", ("mcp-server-time",), {"TZ": "UTC"})
    assert isinstance(wiki, HttpServer)
    assert wiki.headers == {"Authorization": "Bearer s3cret"}


def test_defaults_are_restricted_always_confirm_and_annotations_untrusted() -> None:
    (server,) = parse({"clock": {"command": "uvx"}})
    assert server.restricted is True
    assert server.require_approval == "always"
    assert server.trust_annotations is False
    assert server.allowed_tools is None
    assert server.timeout_seconds is None


def test_secrets_expanded_into_headers_and_env_do_not_show_in_the_servers_repr() -> None:
    servers = parse(
        {
            "a": {"url": "https://x.example/mcp", "headers": {"X": "${TOKEN}"}},
            "b": {"command": "x", "env": {"K": "${TOKEN}"}},
        },
        {"TOKEN": "s3cret"},
    )
    assert all("s3cret" not in repr(server) for server in servers)


def test_the_other_clients_type_key_is_understood_and_disabled_servers_are_skipped() -> None:
    servers = parse(
        {
            "a": {"type": "stdio", "command": "x"},
            "b": {"type": "http", "url": "https://b.example/mcp"},
            "c": {"type": "streamable-http", "url": "https://c.example/mcp"},
            "d": {"command": "x", "disabled": True},
        }
    )
    assert [server.name for server in servers] == ["a", "b", "c"]


def test_require_approval_accepts_the_openai_never_shape() -> None:
    (server,) = parse({"a": {"command": "x", "require_approval": {"never": {"tool_names": ["lookup"]}}}})
    assert isinstance(server.require_approval, NeverApproval)
    assert server.confirms("lookup", read_only_hint=None) is False
    assert server.confirms("delete", read_only_hint=None) is True


def test_read_only_hint_skips_confirmation_only_when_the_operator_trusts_annotations() -> None:
    (untrusting,) = parse({"a": {"command": "x"}})
    (trusting,) = parse({"a": {"command": "x", "trust_annotations": True}})
    assert untrusting.confirms("read", read_only_hint=True) is True
    assert trusting.confirms("read", read_only_hint=True) is False
    assert trusting.confirms("write", read_only_hint=False) is True
    assert trusting.confirms("unknown", read_only_hint=None) is True


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ({"a": {}}, "either command (a local server) or url"),
        ({"a": {"command": "x", "url": "https://x"}}, "not both or none"),
        ({"a": {"url": "https://x/sse", "type": "sse"}}, "SSE transport is deprecated"),
        ({"a": {"command": "x", "bogus": 1}}, "unknown key 'bogus'"),
        ({"a": {"command": "x", "require_approval": "sometimes"}}, 'require_approval must be "always", "never"'),
        ({"a": {"command": "x", "timeout_seconds": 0}}, "timeout_seconds"),
        ({"a": {"command": "x", "restricted": "maybe"}}, "restricted"),
        ({"a": {"url": "ftp://x"}}, "url must start with http"),
        ({"a": {"type": "websocket", "url": "https://x"}}, "type must be stdio, http or streamable-http"),
        ({"a": {"url": "https://x", "headers": {"A": "${MISSING}"}}}, "${MISSING} is not set"),
        ({"bad name!": {"command": "x"}}, "a server name is 1 to 40 letters"),
        ({"wiki__admin": {"command": "x"}}, "a server name may not contain '__'"),
        ({"wiki_": {"command": "x"}}, "nor end with '_'"),
        ({"wiki._admin": {"command": "x"}}, "('.' counts as '_')"),
    ],
)
def test_each_mistake_is_one_line_naming_the_server_and_the_problem(servers: dict[str, object], expected: str) -> None:
    message = problem(servers)
    assert expected in message
    assert message.startswith("server ")


def test_no_server_can_take_another_servers_tool_names() -> None:
    # With "wiki" and "wiki__admin" both allowed, wiki's tool "admin__delete" would be named wiki__admin__delete, the
    # name (and the admins' stored policies) of wiki__admin's tool "delete"; "wiki_" and "wiki" meet the same way.
    assert "may not contain '__'" in problem({"wiki": {"command": "x"}, "wiki__admin": {"command": "y"}})
    assert "nor end with '_'" in problem({"wiki": {"command": "x"}, "wiki_": {"command": "y"}})
    clash = problem({"wiki.corp": {"command": "x"}, "wiki_corp": {"command": "y"}})
    assert clash.startswith("server 'wiki_corp': its tools would be named like those of server 'wiki.corp'")
    assert [server.name for server in parse({"wiki": {"command": "x"}, "wiki_corp": {"command": "y"}})] == [
        "wiki",
        "wiki_corp",
    ]


def test_a_file_that_is_not_json_names_the_file_and_the_position(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {', encoding="utf-8")
    with pytest.raises(McpConfigError, match=r"^MCP_CONFIG_FILE .*mcp\.json: not valid JSON: .* line 1"):
        load_mcp_config(path, explicit=True, environ={})


def test_a_missing_default_file_means_no_servers_but_a_missing_named_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.json"
    assert load_mcp_config(missing, explicit=False, environ={}) == []
    with pytest.raises(McpConfigError, match="does not exist"):
        load_mcp_config(missing, explicit=True, environ={})


def test_the_settings_know_whether_the_file_was_named(tmp_path: Path) -> None:
    default = load_settings({}, env_file=None)
    named = load_settings({"MCP_CONFIG_FILE": str(tmp_path / "mine.json")}, env_file=None)
    assert Path("data/mcp.json") == default.MCP_CONFIG_FILE
    assert default.mcp_config_explicit is False
    assert named.mcp_config_explicit is True
    assert default.MCP_START_TIMEOUT_SECONDS == 20


def test_the_readmes_example_file_is_accepted_with_the_defaults_it_describes() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Bring your own tools") :]
    example = section[section.index("```json\n") + len("```json\n") : section.index("\n```", section.index("```json"))]
    clock, files, deepwiki = parse_mcp_config(example, environ={})
    assert (clock.restricted, clock.confirms("get_current_time", read_only_hint=None)) == (False, False)
    assert isinstance(files, StdioServer) and files.command == "npx"
    assert files.allowed_tools == ("list_directory", "search_files", "read_text_file")
    assert not files.confirms("search_files", read_only_hint=None)
    assert files.confirms("read_text_file", read_only_hint=True)
    assert isinstance(deepwiki, HttpServer) and deepwiki.restricted and deepwiki.timeout_seconds == 60
