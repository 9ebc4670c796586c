#!/usr/bin/env bash
# Builds the release binaries: static (CGO_ENABLED=0), stamped with the
# version and the commit, for linux/amd64, linux/arm64, windows/amd64 and
# windows/arm64, into dist/ with a SHA256SUMS file.
#
#   scripts/release.sh [VERSION]       default VERSION: git describe
#   TARGETS="linux/amd64" scripts/release.sh     only some targets
#
# dist/onedrive-agent-VERSION-linux-amd64
# dist/onedrive-agent-VERSION-windows-amd64.exe ...
# dist/SHA256SUMS                    check with: cd dist && sha256sum -c SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}}
targets=${TARGETS:-linux/amd64 linux/arm64 windows/amd64 windows/arm64}
dist=${DIST:-dist}

mkdir -p "$dist"
files=()
for t in $targets; do
	goos=${t%/*}
	goarch=${t#*/}
	ext=
	[ "$goos" = windows ] && ext=.exe
	name=onedrive-agent-$version-$goos-$goarch$ext
	echo "building $name"
	GOOS=$goos GOARCH=$goarch VERSION=$version scripts/build.sh "$dist/$name"
	files+=("$name")
done
cp agent.toml.example "$dist/agent.toml.example"
files+=(agent.toml.example)
(
	cd "$dist"
	if command -v sha256sum >/dev/null; then
		sha256sum "${files[@]}" >SHA256SUMS
	else
		shasum -a 256 "${files[@]}" >SHA256SUMS
	fi
)
echo "wrote $dist/SHA256SUMS"
