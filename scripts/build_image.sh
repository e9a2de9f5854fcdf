#!/usr/bin/env bash
# Build the newsbot image without Docker and smoke-run it (not part of `make test`):
#   1. a Debian bookworm base from debootstrap, imported into podman (once);
#   2. every wheel newsbot needs, from this machine's pip sources, into the build context;
#   3. `podman build --isolation=chroot` (no daemon, no user namespaces) with no PyPI access;
#   4. the image's file system exported and `newsbot ask` run in it under chroot.
# Needs root, podman and debootstrap (apt-get install podman debootstrap), and the Debian mirror.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-$REPO/build/image}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE=localhost/debian-bookworm-base
IMAGE=${IMAGE:-localhost/newsbot:latest}
PIP=${PIP:-$REPO/.venv/bin/pip}
QUESTION=${QUESTION:-What did the US offer Ukraine?}
# vfs works where overlay mounts are not allowed (inside a container, as on CI machines).
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

mkdir -p "$WORK"
if ! podman image exists "$BASE"; then
    step "debootstrap bookworm from $MIRROR"
    rm -rf "$WORK/rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$WORK/rootfs" "$MIRROR"
    step "podman import $BASE"
    tar -C "$WORK/rootfs" -c . | podman import - "$BASE"
    rm -rf "$WORK/rootfs"
fi

step "build context: the tracked files and the wheels"
CONTEXT=$WORK/context
rm -rf "$CONTEXT" && mkdir -p "$CONTEXT/wheels"
git -C "$REPO" ls-files -z | (cd "$REPO" && xargs -0 tar -c) | tar -C "$CONTEXT" -x
"$PIP" wheel --quiet --wheel-dir "$CONTEXT/wheels" "$REPO" "setuptools>=69"  # and its build backend

step "podman build --isolation=chroot $IMAGE"
podman build --isolation=chroot --format docker --build-arg BASE="$BASE" --build-arg PIP_NO_INDEX=1 \
    -t "$IMAGE" -f "$CONTEXT/Containerfile" "$CONTEXT"

step "smoke run: the image's file system under chroot"
ROOT=$WORK/smoke
rm -rf "$ROOT" && mkdir -p "$ROOT"
container=$(podman create "$IMAGE")
podman export "$container" | tar -C "$ROOT" -x
podman rm "$container" >/dev/null
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
trap 'umount "$ROOT/proc" "$ROOT/dev" 2>/dev/null || true' EXIT
chroot "$ROOT" /usr/bin/env -i PATH=/opt/newsbot/bin:/usr/bin:/bin HOME=/var/lib/newsbot \
    HF_HUB_OFFLINE=1 NEWSBOT_DATA_DIR=/tmp/data NEWSBOT_SEEDS_DIR=/src/seeds \
    NEWSBOT_MODEL_CACHE=/tmp/models newsbot ask "$QUESTION"
step "done: $IMAGE"
