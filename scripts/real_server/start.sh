#!/usr/bin/env bash
# Runs the local OpenAI-compatible server (after setup.sh) and prints its base URL for OPENAI_BASE_URL.
#
# Usage: scripts/real_server/start.sh [--background | --status | --stop]
#   (none)        run in the foreground; Ctrl-C stops it
#   --background  run detached, wait until GET /v1/models answers, print the URL; a running server is reused
#   --status      print the URL if the background server answers, else exit 1
#   --stop        stop the background server
# Settings: see config.sh (PORT, N_CTX, CONCIERGE_LLAMA_*).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/config.sh"

server_command=(
    "$LLAMA_VENV/bin/python" -m llama_cpp.server
    --model "$LLAMA_MODEL"
    --model_alias "$LLAMA_MODEL_ALIAS"
    --chat_format chatml-function-calling
    --host "$LLAMA_HOST"
    --port "$LLAMA_PORT"
    --n_ctx "$LLAMA_N_CTX"
)

running_pid() {
    [[ -f "$LLAMA_PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$LLAMA_PID_FILE")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

answers() {
    "$LLAMA_VENV/bin/python" - "$LLAMA_BASE_URL/models" <<'PY' 2>/dev/null
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
    sys.exit(0 if response.status == 200 else 1)
PY
}

foreground() {
    "$here/setup.sh"
    say "serving $LLAMA_MODEL at $LLAMA_BASE_URL (Ctrl-C stops it)"
    echo "$LLAMA_BASE_URL"
    exec "${server_command[@]}"
}

background() {
    "$here/setup.sh"
    local pid
    if pid="$(running_pid)" && answers; then
        say "already running (pid $pid, log $LLAMA_SERVER_LOG)"
        echo "$LLAMA_BASE_URL"
        return
    fi
    if answers; then
        say "port $LLAMA_PORT already answers but was not started here; set PORT to use another"
        exit 1
    fi
    nohup "${server_command[@]}" >"$LLAMA_SERVER_LOG" 2>&1 &
    pid=$!
    echo "$pid" >"$LLAMA_PID_FILE"
    for _ in $(seq 1 120); do
        if answers; then
            say "running (pid $pid, log $LLAMA_SERVER_LOG)"
            echo "$LLAMA_BASE_URL"
            return
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            say "the server exited; the end of $LLAMA_SERVER_LOG:"
            tail -n 30 "$LLAMA_SERVER_LOG" >&2
            exit 1
        fi
        sleep 1
    done
    say "the server did not answer within 120 s; see $LLAMA_SERVER_LOG"
    exit 1
}

status() {
    local pid
    if pid="$(running_pid)" && answers; then
        say "running (pid $pid, log $LLAMA_SERVER_LOG)"
        echo "$LLAMA_BASE_URL"
    else
        say "not running on port $LLAMA_PORT"
        exit 1
    fi
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid"
        # uvicorn waits for the request in progress, which can be a long generation: give it 10 s, then force it
        for _ in $(seq 1 10); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid"
            say "pid $pid did not stop within 10 s; killed it"
        fi
        rm -f "$LLAMA_PID_FILE"
        say "stopped pid $pid"
    else
        say "not running on port $LLAMA_PORT"
    fi
}

case "${1:-}" in
    "") foreground ;;
    --background) background ;;
    --status) status ;;
    --stop) stop ;;
    *) say "unknown option: $1 (expected --background, --status or --stop)"; exit 2 ;;
esac
