"""One-step client setup: the stdio server block with this checkout's absolute paths, merged into
Claude Desktop's config (backed up first, other servers kept), and one-line setups for Claude Code,
Cursor and VS Code.

Desktop clients start servers outside any checkout and with a bare PATH, so every path is absolute.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

SERVER_NAME = "anime-search"
CONFIG_FILE = "claude_desktop_config.json"


class ClientConfigError(RuntimeError):
    """The client's config cannot be merged safely; the message names the file and what to fix."""


def claude_desktop_config_path(
    platform: str = sys.platform, env: dict[str, str] | None = None, home: Path | None = None
) -> Path:
    """Where Claude Desktop reads its config on this OS (macOS, Windows, Linux)."""
    env = dict(os.environ) if env is None else env
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / CONFIG_FILE
    if platform.startswith("win"):
        appdata = env.get("APPDATA")
        return (Path(appdata) if appdata else home / "AppData" / "Roaming") / "Claude" / CONFIG_FILE
    config_home = env.get("XDG_CONFIG_HOME")
    return (Path(config_home) if config_home else home / ".config") / "Claude" / CONFIG_FILE


def server_command() -> list[str]:
    """The absolute command that starts this checkout's server: the venv's `anime-mcp` script, or this
    interpreter running the CLI module when the script is missing (an install without entry points)."""
    scripts = Path(sys.executable).parent
    for name in ("anime-mcp", "anime-mcp.exe"):
        if (scripts / name).is_file():
            return [str((scripts / name).absolute())]
    found = shutil.which("anime-mcp")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "server.cli"]


def server_block(data_dir: Path, command: list[str] | None = None) -> dict[str, Any]:
    """The stdio server entry every client config shares (`command`, `args`)."""
    command = command or server_command()
    # the log level as an argument, not an `env` block: some Claude Desktop builds replace the whole
    # environment with that block (no HOME, no APPDATA) instead of adding to it
    return {
        "command": command[0],
        "args": [
            *command[1:],
            "--log-level",
            "WARNING",
            "serve",
            "--data-dir",
            str(Path(data_dir).expanduser().absolute()),
        ],
    }


@dataclass
class WriteResult:
    path: Path
    changed: bool
    backup: Path | None


def merge_server(config: dict[str, Any], name: str, block: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with ``mcpServers[name]`` set to ``block``; every other key and server kept."""
    servers = config.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise ClientConfigError(f"'mcpServers' is a {type(servers).__name__}, not an object; fix it by hand first")
    return {**config, "mcpServers": {**servers, name: block}}


def write_claude_desktop(path: Path, block: dict[str, Any], name: str = SERVER_NAME) -> WriteResult:
    """Merge ``block`` into the config at ``path``: nothing is written when it is already there; otherwise
    the old file is copied to a timestamped ``.bak`` beside it and the new one replaces it atomically."""
    existing: dict[str, Any] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        try:
            existing = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ClientConfigError(f"{path} is not valid JSON ({exc}); fix or move it, then run again") from exc
        if not isinstance(existing, dict):
            raise ClientConfigError(f"{path} holds a JSON {type(existing).__name__}, not an object; fix or move it")
    try:
        merged = merge_server(existing, name, block)
    except ClientConfigError as exc:
        raise ClientConfigError(f"{path}: {exc}") from exc
    if path.exists() and merged == existing:
        return WriteResult(path=path, changed=False, backup=None)
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return WriteResult(path=path, changed=True, backup=backup)


def one_liners(block: dict[str, Any], name: str = SERVER_NAME) -> dict[str, str]:
    """The same server for Claude Code, Cursor (an install link) and VS Code, one line each."""
    command = [block["command"], *block["args"]]
    env = block.get("env") or {}
    claude = ["claude", "mcp", "add", "--transport", "stdio", "--scope", "user", name]
    for key, value in env.items():  # after the name: --env takes every value up to the next option
        claude += ["--env", f"{key}={value}"]
    claude += ["--", *command]
    cursor = base64.b64encode(json.dumps(block, separators=(",", ":")).encode()).decode()
    vscode = json.dumps({"name": name, **block}, separators=(",", ":"))
    return {
        "Claude Code": shlex.join(claude),
        "Cursor": f"cursor://anysphere.cursor-deeplink/mcp/install?name={quote(name)}&config={quote(cursor, safe='')}",
        "VS Code": shlex.join(["code", "--add-mcp", vscode]),
    }


def render(block: dict[str, Any], path: Path, name: str = SERVER_NAME) -> str:
    """What `anime-mcp config claude-desktop` prints: the block, where it goes, and the other clients."""
    lines = [
        f'Claude Desktop ({path}), inside "mcpServers" (or run again with --write to merge it):',
        "",
        json.dumps({name: block}, indent=2, ensure_ascii=False),
        "",
    ]
    for client, line in one_liners(block, name).items():
        lines += [f"{client}:", f"  {line}", ""]
    return "\n".join(lines)


# ----- the `anime-mcp config` command ----------------------------------------------------------------
def add_config_parser(sub: Any) -> None:
    p = sub.add_parser("config", help="Print (or merge) the setup for Claude Desktop, Claude Code, Cursor, VS Code.")
    p.add_argument("client", nargs="?", choices=["claude-desktop"], default="claude-desktop")
    p.add_argument(
        "--write",
        action="store_true",
        help="Merge the server into Claude Desktop's config (backed up first; other servers kept).",
    )
    p.add_argument("--config-path", type=Path, help="Claude Desktop config file (default: this OS's location).")
    p.add_argument("--name", default=SERVER_NAME, help=f"Server name in the clients (default: {SERVER_NAME}).")
    p.add_argument("--data-dir", type=Path, help="Folder of the embedded index (ANIME_MCP_DATA_DIR).")


def run_config(args: Any) -> int:
    # index.settings (pydantic-settings: ~0.1 s): every `anime-mcp` command imports this module for its parser
    from index.settings import StorageSettings

    data_dir = args.data_dir or StorageSettings().data_dir
    block = server_block(Path(data_dir))
    path = args.config_path or claude_desktop_config_path()
    if not args.write:
        print(render(block, path, args.name))
        return 0
    try:
        result = write_claude_desktop(path, block, args.name)
    except (ClientConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not result.changed:
        print(f"{path} already has {args.name!r} with these settings; nothing written.")
    else:
        saved = f" (previous version saved as {result.backup})" if result.backup else ""
        print(f"wrote {args.name!r} into {path}{saved}. Restart Claude Desktop to load it.")
    return 0
