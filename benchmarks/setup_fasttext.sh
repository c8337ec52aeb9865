#!/usr/bin/env bash
# Build the isolated virtual environment that holds the reference fastText for the
# engine benchmark (benchmarks/bench_engine.py). It lives in benchmarks/.work/, which is
# git-ignored, and never touches the project's own environment.
#
# The reference is fastText 0.9.2 from the `fasttext-wheel` package (prebuilt wheels for
# CPython 3.11/3.12 only) on numpy<2, since fastText's Python predict() breaks on numpy 2.
# If no wheel installs, fall back to building `fasttext==0.9.3` from source with pybind11
# (a C++ compiler is needed then, but only here, never by mlcycle itself).
#
# Idempotent: when the venv already imports fasttext, it does nothing.
# Usage: bash benchmarks/setup_fasttext.sh   (env FASTTEXT_PYTHON=/path/to/python3.x to pick)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.work/venv-fasttext"
probe='import fasttext, numpy; print("fasttext ready, numpy", numpy.__version__)'

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$probe" 2>/dev/null; then
    exit 0
fi

pick_python() {
    local candidate
    for candidate in "${FASTTEXT_PYTHON:-}" python3.11 python3.12 \
        /root/.pyenv/versions/3.11*/bin/python3.11 /root/.pyenv/versions/3.12*/bin/python3.12 \
        /usr/bin/python3.11 /usr/bin/python3.12; do
        [[ -n "$candidate" ]] || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)' \
            >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! py="$(pick_python)"; then
    echo "setup_fasttext: need python3.11 or python3.12 (fasttext-wheel has no wheel for 3.13+)" >&2
    exit 1
fi

echo "setup_fasttext: creating $venv with $("$py" --version 2>&1)" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --upgrade pip

if ! "${pip[@]}" install --only-binary=:all: "numpy<2" "fasttext-wheel==0.9.2"; then
    echo "setup_fasttext: fasttext-wheel failed, building fasttext==0.9.3 from source" >&2
    "${pip[@]}" install "numpy<2" "pybind11>=2.2" setuptools wheel
    "${pip[@]}" install --no-build-isolation "fasttext==0.9.3"
fi

"$venv/bin/python" -c "$probe"
