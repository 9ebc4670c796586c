#!/usr/bin/env bash
# Builds a static, version-stamped onedrive-agent binary.
#
#   scripts/build.sh [OUTPUT]          default OUTPUT: ./onedrive-agent (.exe for Windows)
#   GOOS=windows GOARCH=arm64 scripts/build.sh
#
# The binary is built with CGO_ENABLED=0: it needs no C library, so one Linux
# binary runs on every distribution (RHEL 8, Ubuntu 20.04, Alpine ...).
# VERSION and COMMIT override what git says; outside a git checkout they are
# "dev" and "unknown". `onedrive-agent version` prints both.
set -euo pipefail
cd "$(dirname "$0")/.."

goos=${GOOS:-$(go env GOOS)}
ext=
[ "$goos" = windows ] && ext=.exe
out=${1:-onedrive-agent$ext}

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit=$commit-dirty
fi

CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X main.version=$version -X main.commit=$commit" \
	-o "$out" ./cmd/onedrive-agent
