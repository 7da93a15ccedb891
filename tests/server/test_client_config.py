"""`anime-mcp config claude-desktop [--write]`: the block with this checkout's absolute paths, merged
into an existing Claude Desktop config without dropping anything, backed up, idempotent."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from server.cli import main
from server.client_config import (
    ClientConfigError,
    claude_desktop_config_path,
    one_liners,
    server_block,
    write_claude_desktop,
)

OTHER = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/me"]}


def existing_config(path: Path) -> dict:
    config = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {"filesystem": OTHER, "anime-search": {"command": "/old/anime-mcp"}},
    }
    path.write_text(json.dumps(config))
    return config


def test_write_merges_backs_up_and_is_idempotent(tmp_path, capsys):
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    path.parent.mkdir()
    before = existing_config(path)
    assert main(["config", "claude-desktop", "--write", "--config-path", str(path), "--data-dir", "data"]) == 0
    after = json.loads(path.read_text())
    assert after["globalShortcut"] == "Ctrl+Space" and after["mcpServers"]["filesystem"] == OTHER
    ours = after["mcpServers"]["anime-search"]
    assert Path(ours["command"]).is_absolute() and Path(ours["command"]).exists()
    assert ours["args"][-3:] == ["serve", "--data-dir", str((Path.cwd() / "data").absolute())]
    backups = list(path.parent.glob("claude_desktop_config.json.*.bak"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == before
    assert "Restart Claude Desktop" in capsys.readouterr().out

    written = path.read_bytes()
    assert main(["config", "claude-desktop", "--write", "--config-path", str(path), "--data-dir", "data"]) == 0
    assert path.read_bytes() == written
    assert len(list(path.parent.glob("*.bak"))) == 1
    assert "nothing written" in capsys.readouterr().out


def test_write_creates_a_missing_config(tmp_path):
    path = tmp_path / "new" / "claude_desktop_config.json"
    result = write_claude_desktop(path, server_block(tmp_path / "data"))
    assert result.changed and result.backup is None
    assert list(json.loads(path.read_text())["mcpServers"]) == ["anime-search"]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_a_config_that_cannot_be_merged_is_left_alone(tmp_path, text, capsys):
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(text)
    with pytest.raises(ClientConfigError, match="fix"):
        write_claude_desktop(path, server_block(tmp_path))
    assert main(["config", "--write", "--config-path", str(path)]) == 1
    assert path.read_text() == text and not list(tmp_path.glob("*.bak"))
    assert str(path) in capsys.readouterr().err


def test_print_mode_shows_every_client_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "claude_desktop_config.json"
    assert main(["config", "claude-desktop", "--config-path", str(path), "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert not path.exists()
    assert '"anime-search"' in out and str(tmp_path / "d") in out
    assert "claude mcp add" in out and "cursor://" in out and "code --add-mcp" in out


def test_one_liners_carry_the_same_server(tmp_path):
    block = server_block(tmp_path / "data", command=["/venv/bin/anime-mcp"])
    lines = one_liners(block)
    claude = shlex.split(lines["Claude Code"])
    assert claude[:3] == ["claude", "mcp", "add"]
    assert claude[claude.index("--") - 1] == "anime-search"  # the name before `--`, no option after it eats it
    assert claude[claude.index("--") + 1 :] == [block["command"], *block["args"]]
    query = parse_qs(urlparse(lines["Cursor"]).query)
    assert json.loads(base64.b64decode(query["config"][0])) == block
    vscode = shlex.split(lines["VS Code"])
    assert vscode[:2] == ["code", "--add-mcp"] and json.loads(vscode[2]) == {"name": "anime-search", **block}


@pytest.mark.parametrize(
    "platform,env,expected",
    [
        ("darwin", {}, "HOME/Library/Application Support/Claude/claude_desktop_config.json"),
        ("win32", {"APPDATA": "APPDATA"}, "APPDATA/Claude/claude_desktop_config.json"),
        ("linux", {}, "HOME/.config/Claude/claude_desktop_config.json"),
        ("linux", {"XDG_CONFIG_HOME": "XDG"}, "XDG/Claude/claude_desktop_config.json"),
    ],
)
def test_config_path_per_os(platform, env, expected):
    assert claude_desktop_config_path(platform, env, home=Path("HOME")) == Path(expected)
