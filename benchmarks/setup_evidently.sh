#!/usr/bin/env bash
# Build the isolated virtual environment that holds Evidently for the drift benchmark
# (benchmarks/bench_drift.py). It lives in benchmarks/.work/, which is git-ignored, and
# never touches the project's own environment.
#
# Evidently 0.7.23 does not import beside pandas 3 (which MLflow 3.17 brings into the
# project's environment), so it gets its own venv with pandas < 3. Wheels only: nothing
# here needs a compiler.
#
# Idempotent: when the venv already imports evidently 0.7.23, it does nothing.
# Usage: bash benchmarks/setup_evidently.sh   (env EVIDENTLY_PYTHON=/path/to/python3.x to pick)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.work/venv-evidently"
version="0.7.23"
probe="import evidently, pandas; assert evidently.__version__ == '$version', evidently.__version__; \
assert int(pandas.__version__.split('.')[0]) < 3; \
print('evidently', evidently.__version__, 'pandas', pandas.__version__)"

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$probe" 2>/dev/null; then
    exit 0
fi

pick_python() {
    local candidate
    for candidate in "${EVIDENTLY_PYTHON:-}" python3.11 python3.12 python3; do
        [[ -n "$candidate" ]] || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' \
            >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! py="$(pick_python)"; then
    echo "setup_evidently: need python 3.11 or newer" >&2
    exit 1
fi

echo "setup_evidently: creating $venv with $("$py" --version 2>&1)" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --upgrade pip
"${pip[@]}" install --only-binary=:all: "evidently==$version" "pandas<3"

"$venv/bin/python" -c "$probe"
