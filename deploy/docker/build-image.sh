#!/usr/bin/env bash
# Build mlcycle's image (`make image` runs this) and print its tags and size.
#
#   deploy/docker/build-image.sh             # IMAGE=mlcycle, TAGS="VERSION COMMIT latest"
#   BASE_IMAGE=python:3.12-slim ENGINE=docker deploy/docker/build-image.sh
#
# BASE_IMAGE: default python:3.11-slim, except on a machine with mmdebstrap (no registry
# needed), where the base is built once from Debian packages by base-image.sh.
# The host's CA bundle is handed to pip as a build secret (never stored in a layer), for
# networks that re-sign TLS; pip's cache persists between builds.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE="${IMAGE:-mlcycle}"
ENGINE="${ENGINE:-$(command -v podman || command -v docker || true)}"
LOCAL_BASE="localhost/mlcycle-base:bookworm"
fail() { echo "image: $*" >&2; exit 1; }
[ -n "$ENGINE" ] || fail "neither podman nor docker is installed; install one of them to build the image."

if [ -z "${BASE_IMAGE:-}" ]; then
    if command -v mmdebstrap >/dev/null; then BASE_IMAGE="$LOCAL_BASE"; else BASE_IMAGE="python:3.11-slim"; fi
fi
if [ "$BASE_IMAGE" = "$LOCAL_BASE" ] && ! "$ENGINE" image exists "$LOCAL_BASE" 2>/dev/null \
    && ! "$ENGINE" image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
    ENGINE="$ENGINE" deploy/docker/base-image.sh "$LOCAL_BASE"
fi

VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -1)"
REVISION="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
[ -z "$(git status --porcelain -- src pyproject.toml 2>/dev/null)" ] || REVISION="$REVISION-dirty"

ARGS=(--file deploy/docker/Containerfile --build-arg "BASE_IMAGE=$BASE_IMAGE"
      --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" --network host)
# TAGS: which of the version, the commit and latest to tag (the container test keeps
# only latest, so each run's image replaces the last one instead of piling up).
TAGS="${TAGS:-$VERSION $REVISION latest}"
for tag in $TAGS; do ARGS+=(--tag "$IMAGE:$tag"); done
CA="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
[ -s "$CA" ] && ARGS+=(--secret "id=ca,src=$CA")
# Podman writes OCI images by default, whose format has no HEALTHCHECK.
case "$(basename "$ENGINE")" in podman) ARGS+=(--format docker) ;; esac

start=$SECONDS
"$ENGINE" build "${ARGS[@]}" . >&2
first="${TAGS%% *}"
bytes="$("$ENGINE" image inspect --format '{{.Size}}' "$IMAGE:$first")"
echo "image: built $IMAGE (tags: $TAGS) from $BASE_IMAGE in $((SECONDS - start)) s;" \
     "size $((bytes / 1000000)) MB"
