#!/usr/bin/env bash
# Provides the Pulumi engine for the end-to-end tests, with no download site:
#   - a `pulumi` CLI already on PATH, when its version is at least $PULUMI_MIN_VERSION;
#   - otherwise the CLI built from the Go module proxy at $PULUMI_CLI_VERSION into a cache outside the repo
#     ($PULUMI_MISTRAL_CACHE, default ~/.cache/pulumi-mistral-batch), reused on later runs;
#   - `pulumi-resource-pulumi-nodejs` (the dynamic-provider host) from the @pulumi/pulumi npm package.
# Prints the directory to put first on PATH. Programs run inline through the Automation API, so the Node
# language host (pulumi-language-nodejs, not served by the module proxy here) is not needed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
want="${PULUMI_CLI_VERSION:-3.259.0}"
min="${PULUMI_MIN_VERSION:-3.216.0}"
cache="${PULUMI_MISTRAL_CACHE:-$HOME/.cache/pulumi-mistral-batch}"
bindir="$cache/pulumi-v$want/bin"

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

link_dynamic_host() {
  local dir="$1"
  mkdir -p "$dir"
  ln -sf "$root/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$dir/pulumi-resource-pulumi-nodejs"
}

if command -v pulumi >/dev/null 2>&1; then
  have="$(pulumi version 2>/dev/null | sed 's/^v//')"
  if [ -n "$have" ] && version_ge "$have" "$min"; then
    link_dynamic_host "$cache/host"
    echo "$cache/host:$(dirname "$(command -v pulumi)")"
    exit 0
  fi
fi

if [ ! -x "$bindir/pulumi" ]; then
  command -v go >/dev/null 2>&1 || { echo "pulumi-cli.sh: no pulumi >= $min on PATH and no Go toolchain to build v$want" >&2; exit 1; }
  src="$cache/pulumi-v$want/src"
  rm -rf "$src" && mkdir -p "$src"
  cd "$src"
  cat > go.mod <<MOD
module pulumi-mistral-batch/pulumi-cli

go 1.25

require (
	github.com/pulumi/pulumi/pkg/v3 v$want
	github.com/pulumi/pulumi/sdk/v3 v$want
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  cat > tools.go <<'TOOLS'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
TOOLS
  echo "pulumi-cli.sh: building the Pulumi CLI v$want from the Go module proxy (first run only; takes a while)..." >&2
  go mod tidy >&2
  mkdir -p "$bindir"
  CGO_ENABLED=0 go build -trimpath -o "$bindir/pulumi.tmp" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$want" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
  mv "$bindir/pulumi.tmp" "$bindir/pulumi"
fi
link_dynamic_host "$bindir"
"$bindir/pulumi" version >/dev/null
echo "$bindir"
