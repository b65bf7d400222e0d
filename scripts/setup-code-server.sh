#!/usr/bin/env bash
# Install code-server (VS Code served to a browser) into .cache/code-server/ for the e2e test.
# Idempotent: a second run only checks that the install still works (about 1 s).
#
# Works offline except for the npm registry and Debian apt, which is all these machines reach.
# See /work/shared/notes/real-vscode-on-this-machine.md and test/e2e/README.md.
#
# Env:
#   CODE_SERVER_VERSION   default 4.100.3 (last one whose engines.node accepts Node 20)
#   FORCE=1               reinstall even if a working install is present
#   CODE_SERVER_DIR       install elsewhere (default .cache/code-server; the e2e harness reads that one)
set -euo pipefail

VERSION="${CODE_SERVER_VERSION:-4.100.3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${CODE_SERVER_DIR:-$ROOT/.cache/code-server}"
BIN="$DEST/node_modules/code-server/out/node/entry.js"
MARKER="$DEST/.installed-$VERSION"
VSCODE_NM="$DEST/node_modules/code-server/lib/vscode/node_modules"

say() { printf '[setup-code-server] %s\n' "$*"; }
die() { printf '[setup-code-server] ERROR: %s\n' "$*" >&2; exit 1; }
t0=$(date +%s)

# Native modules VS Code's server needs; each must load with this Node.
NATIVE_MODULES=(node-pty @parcel/watcher @vscode/spdlog native-watchdog kerberos)

cs_version() {
  # code-server writes a default config under $XDG_CONFIG_HOME on every start: keep it out of $HOME.
  local xdg; xdg="$(mktemp -d "${TMPDIR:-/tmp}/st-cs-version.XXXXXX")"
  XDG_CONFIG_HOME="$xdg" XDG_DATA_HOME="$xdg" node "$BIN" --version 2>/dev/null \
    | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -1 || true
  rm -rf "$xdg"
}

verify() {
  [ -f "$BIN" ] || return 1
  local v; v="$(cs_version)"
  [ "${v%% *}" = "$VERSION" ] || { say "code-server --version gave '${v:-nothing}', want $VERSION"; return 1; }
  [ -x "$VSCODE_NM/@vscode/ripgrep/bin/rg" ] || { say "missing $VSCODE_NM/@vscode/ripgrep/bin/rg"; return 1; }
  (cd "$DEST/node_modules/code-server" && node -e 'require("argon2")' 2>/dev/null) \
    || { say "cannot load argon2 (code-server's own native module)"; return 1; }
  # Load every native module from inside the VS Code server tree (only our own lines are shown:
  # node-pty prints a stack of its own when its binary is missing).
  local out rc=0
  out="$(cd "$VSCODE_NM/.." && node -e '
    const mods = process.argv.slice(1); let bad = 0;
    for (const m of mods) {
      try { require(m); } catch (e) { bad++; console.log("[setup-code-server] cannot load " + m + ": " + e.message.split("\n")[0]); }
    }
    process.exit(bad ? 1 : 0);
  ' "${NATIVE_MODULES[@]}" 2>/dev/null)" || rc=$?
  [ -z "$out" ] || printf '%s\n' "$out" | grep '^\[setup-code-server\]' >&2 || true
  [ "$rc" = 0 ] || return 1
  return 0
}

if [ "${FORCE:-0}" != 1 ] && [ -f "$MARKER" ] && verify; then
  say "code-server $VERSION already installed in $DEST ($(( $(date +%s) - t0 )) s)"
  exit 0
fi

# --- Debian packages: chromium (browser for Playwright), ripgrep (stand-in for @vscode/ripgrep),
#     libkrb5-dev (kerberos builds from source). Only touch apt when something is missing.
need_pkgs=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
command -v rg >/dev/null 2>&1 || need_pkgs+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_pkgs+=(libkrb5-dev)
command -v g++ >/dev/null 2>&1 || need_pkgs+=(g++)
command -v make >/dev/null 2>&1 || need_pkgs+=(make)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" \
    || die "apt-get install ${need_pkgs[*]} failed"
fi
RG="$(command -v rg)" || die "ripgrep (rg) not found after apt-get install"

# --- Fix 1: @vscode/ripgrep's postinstall downloads from GitHub. Pre-seed its cache in a private
#     TMPDIR with a tarball holding Debian's rg at its root, so the download is skipped.
PRIV_TMP="$(mktemp -d "${TMPDIR:-/tmp}/st-code-server-setup.XXXXXX")"
trap 'rm -rf "$PRIV_TMP"' EXIT
RG_CACHE="$PRIV_TMP/vscode-ripgrep-cache-1.15.11"
mkdir -p "$RG_CACHE" "$PRIV_TMP/rgroot"
cp "$RG" "$PRIV_TMP/rgroot/rg"
case "$(uname -m)" in
  x86_64) triple=x86_64-unknown-linux-musl ;;
  aarch64) triple=aarch64-unknown-linux-gnu ;;
  *) die "unsupported architecture $(uname -m) for the ripgrep pre-seed" ;;
esac
tar -czf "$RG_CACHE/ripgrep-v13.0.0-10-$triple.tar.gz" -C "$PRIV_TMP/rgroot" rg

# --- Install into a private prefix (not a dependency of the project).
say "installing code-server@$VERSION into $DEST (about 60 s with a cold npm cache)"
rm -rf "$DEST"
mkdir -p "$DEST"
printf '{ "name": "shutdown-trace-code-server-cache", "private": true }\n' > "$DEST/package.json"

npm_env=(
  TMPDIR="$PRIV_TMP"
  npm_config_yes=true            # fix 2: node-pty's postinstall runs `npx node-gyp`
  npm_config_unsafe_perm=true    # fix 3: code-server's postinstall refuses root otherwise
  npm_config_update_notifier=false
  npm_config_fund=false
  npm_config_audit=false
)
# Build native modules against the installed Node headers rather than downloading them.
if [ -f /usr/include/node/node.h ] && [ -z "${npm_config_nodedir:-}" ]; then
  npm_env+=(npm_config_nodedir=/usr)
fi

LOG="$DEST/install.log"
if ! env "${npm_env[@]}" npm install --prefix "$DEST" --no-save --no-package-lock \
      "code-server@$VERSION" >"$LOG" 2>&1; then
  tail -40 "$LOG" >&2
  die "npm install code-server@$VERSION failed (full log: $LOG)"
fi

if ! verify; then
  tail -40 "$LOG" >&2
  die "code-server installed but does not work (see messages above; full log: $LOG)"
fi
touch "$MARKER"
say "code-server $(cs_version) ready in $DEST ($(( $(date +%s) - t0 )) s)"
