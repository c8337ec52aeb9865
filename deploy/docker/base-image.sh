#!/usr/bin/env bash
# Build a Python base image from Debian packages, for machines that reach Debian's
# mirrors but no container registry (where `FROM python:3.x-slim` cannot be pulled).
#
#   deploy/docker/base-image.sh [TAG]      # default localhost/mlcycle-base:bookworm
#
# Needs root, mmdebstrap and podman (or docker); eatmydata makes it about twice as fast.
# The mirror is the one apt uses on this machine, so a local mirror or proxy is honoured.
# Nothing of the image comes from a registry: Debian's python3 (3.11 in bookworm),
# python3-venv and the CA certificates, documentation and locales left out.
set -euo pipefail

TAG="${1:-localhost/mlcycle-base:bookworm}"
SUITE="${SUITE:-bookworm}"
ENGINE="${ENGINE:-$(command -v podman || command -v docker || true)}"

fail() { echo "base-image: $*" >&2; exit 1; }
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed; apt-get install mmdebstrap eatmydata (or set BASE_IMAGE=python:3.11-slim where a registry is reachable)."
[ -n "$ENGINE" ] || fail "neither podman nor docker is installed; install one of them."

# apt's own source list (deb822 or one-line); mmdebstrap pastes a file given as MIRROR.
MIRROR=""
for candidate in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$candidate" ] && grep -q "$SUITE" "$candidate"; then MIRROR="$candidate"; break; fi
done

HOOKS=()
[ -d /usr/share/mmdebstrap/hooks/eatmydata ] && command -v eatmydata >/dev/null \
    && HOOKS=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)

rootfs="$(mktemp -d)/rootfs.tar"
trap 'rm -rf "$(dirname "$rootfs")"' EXIT
mmdebstrap --quiet --variant=minbase "${HOOKS[@]}" \
    --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$SUITE" "$rootfs" ${MIRROR:+"$MIRROR"}
"$ENGINE" import --change 'CMD ["python3"]' "$rootfs" "$TAG" >/dev/null
echo "base-image: built $TAG from Debian $SUITE packages"
