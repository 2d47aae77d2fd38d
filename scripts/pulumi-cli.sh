#!/usr/bin/env bash
# Provides the Pulumi engine as a user's Pulumi install holds it, with no download site: prints one directory
# (put it first on PATH) holding
#   - `pulumi`: a CLI already on PATH when its version is at least $PULUMI_MIN_VERSION, otherwise the CLI built
#     from the Go module proxy at $PULUMI_CLI_VERSION into a cache outside the repository
#     ($PULUMI_MISTRAL_CACHE, default ~/.cache/pulumi-mistral-batch), reused on later runs;
#   - `pulumi-language-nodejs`: the Node.js language host that `pulumi up` runs a program's Pulumi.yaml with. One
#     already on PATH wins (as the CLI's own lookup does), then one beside the CLI (a normal Pulumi install), else
#     it is built once from the source kept in ../shared/tools ($PULUMI_LANGUAGE_NODEJS_BUILD names the script);
#   - `pulumi-resource-pulumi-nodejs`: the dynamic-provider host, from the @pulumi/pulumi npm package.
# Build logs go to stderr; stdout is only the directory.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
# The CLI matches the SDK version of the language host's source (../shared/tools/pulumi-language-nodejs/go.mod),
# so both builds share one set of Go modules.
want="${PULUMI_CLI_VERSION:-3.260.0}"
min="${PULUMI_MIN_VERSION:-3.216.0}"
cache="${PULUMI_MISTRAL_CACHE:-$HOME/.cache/pulumi-mistral-batch}"
langbuild="${PULUMI_LANGUAGE_NODEJS_BUILD:-$root/../shared/tools/build-pulumi-language-nodejs.sh}"

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }
say() { echo "pulumi-cli.sh: $*" >&2; }

build_cli() {
  local bindir="$cache/pulumi-v$want/bin"
  if [ ! -x "$bindir/pulumi" ]; then
    command -v go >/dev/null 2>&1 || { say "no pulumi >= $min on PATH and no Go toolchain to build v$want"; exit 1; }
    local src="$cache/pulumi-v$want/src"
    rm -rf "$src" && mkdir -p "$src"
    cat > "$src/go.mod" <<MOD
module pulumi-mistral-batch/pulumi-cli

go 1.25

require (
	github.com/pulumi/pulumi/pkg/v3 v$want
	github.com/pulumi/pulumi/sdk/v3 v$want
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
    cat > "$src/tools.go" <<'TOOLS'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
TOOLS
    say "building the Pulumi CLI v$want from the Go module proxy (first run only; takes a while)..."
    (cd "$src" && go mod tidy >&2)
    mkdir -p "$bindir"
    (cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$bindir/pulumi.tmp" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$want" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2)
    mv "$bindir/pulumi.tmp" "$bindir/pulumi"
  fi
  echo "$bindir/pulumi"
}

# The CLI.
cli=""
if command -v pulumi >/dev/null 2>&1; then
  have="$(pulumi version 2>/dev/null | sed 's/^v//')"
  if [ -n "$have" ] && version_ge "$have" "$min"; then cli="$(readlink -f "$(command -v pulumi)")"; fi
fi
[ -n "$cli" ] || cli="$(build_cli)"
"$cli" version >/dev/null

# The language host (paths resolved, so this script's own links on PATH never point at themselves).
lang=""
if command -v pulumi-language-nodejs >/dev/null 2>&1; then
  lang="$(readlink -f "$(command -v pulumi-language-nodejs)")"
elif [ -x "$(dirname "$cli")/pulumi-language-nodejs" ]; then
  lang="$(dirname "$cli")/pulumi-language-nodejs"
else
  [ -f "$langbuild" ] || { say "no pulumi-language-nodejs on PATH or beside $cli, and no build script at $langbuild (set PULUMI_LANGUAGE_NODEJS_BUILD)"; exit 1; }
  langdir="$(bash "$langbuild" "$cache" | tail -n 1)"
  lang="$langdir/pulumi-language-nodejs"
  [ -x "$lang" ] || { say "$langbuild printed $langdir, which holds no pulumi-language-nodejs"; exit 1; }
fi

# The dynamic-provider host.
dynamic="$root/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs"
[ -x "$dynamic" ] || { say "$dynamic is missing: run npm ci first"; exit 1; }

# One directory with the three, laid out as a Pulumi install is (the CLI warns about plugins found on PATH that are
# not beside its own binary). For the CLI built here, that is its own directory; for an installed CLI, a directory
# of links named by what they point to, so two checkouts never overwrite each other's.
if [ "$cli" = "$cache/pulumi-v$want/bin/pulumi" ]; then
  engine="$(dirname "$cli")"
else
  key="$(printf '%s\n%s\n%s\n' "$cli" "$lang" "$dynamic" | sha256sum | cut -c1-12)"
  engine="$cache/engine-$key/bin"
  mkdir -p "$engine"
  ln -sfn "$cli" "$engine/pulumi"
fi
[ "$lang" = "$engine/pulumi-language-nodejs" ] || ln -sfn "$lang" "$engine/pulumi-language-nodejs"
ln -sfn "$dynamic" "$engine/pulumi-resource-pulumi-nodejs"
echo "$engine"
