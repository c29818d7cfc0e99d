#!/usr/bin/env bash
# Installs relayd from this checkout on a Debian (or similar, systemd) host.
#
#   sudo ./scripts/install.sh [--prefix DIR] [--dry-run] [--no-system] [--no-build]
#
# 1. builds the workspace (./scripts/pnpm install --frozen-lockfile, then
#    ./scripts/pnpm run build), unless --no-build;
# 2. installs the programs under PREFIX/lib/relayd (default /usr/local/lib/relayd):
#    the built packages relayd and relayctl need (package.json and dist/, no
#    tests) with production node_modules installed by pnpm from the workspace
#    lockfile, plus docs/, configs/ and the systemd files rendered for PREFIX;
#    then the wrappers PREFIX/bin/relayd and PREFIX/bin/relayctl, which exec
#    node on the installed entry points. The new tree is assembled beside the
#    old one, checked (`relayd build-info`), and swapped in;
# 3. unless --no-system: creates the system user and group `relayd`,
#    /var/lib/relayd and /var/log/relayd (0700, owned by relayd), /etc/relayd
#    and /etc/relayd/torrc from configs/vanilla-bridge.torrc when there is no
#    torrc yet (an existing one is never overwritten), installs relayd.service,
#    relayd-pt@.service and /etc/sysctl.d/99-relayd.conf, applies the sysctl
#    file and runs `systemctl daemon-reload`.
#
# It does not enable or start anything. Running it again upgrades in place
# (restart relayd afterwards: its new worker processes would otherwise run
# newer code than the running supervisor). Every step is written out in
# docs/operator-guide.md.
#
#   --prefix DIR  install under DIR (absolute) instead of /usr/local
#   --dry-run     print what would be done, change nothing
#   --no-system   only the build and PREFIX: no user, nothing under /etc or
#                 /var, no systemctl (for a test or an unprivileged prefix)
#   --no-build    use the existing build (dist/) as it is
set -euo pipefail

# The relayd user must be able to read everything installed, whatever the caller's umask.
umask 022

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=/usr/local
dry_run=0
system=1
build=1

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}
die() {
  echo "install.sh: $*" >&2
  exit 1
}
note() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
  --prefix)
    [ $# -ge 2 ] || die "--prefix needs a directory"
    prefix="$2"
    shift 2
    ;;
  --prefix=*)
    prefix="${1#--prefix=}"
    shift
    ;;
  --dry-run)
    dry_run=1
    shift
    ;;
  --no-system)
    system=0
    shift
    ;;
  --no-build)
    build=0
    shift
    ;;
  -h | --help)
    usage
    exit 0
    ;;
  *)
    echo "install.sh: unknown option '$1'" >&2
    usage >&2
    exit 2
    ;;
  esac
done

# The prefix ends up in sed expressions, unit files and sh wrappers: keep it plain.
case "$prefix" in
/*) ;;
*) die "--prefix must be an absolute path, not '$prefix'" ;;
esac
[[ "$prefix" =~ ^/[A-Za-z0-9._/+-]*$ ]] || die "--prefix may only contain letters, digits and . _ / + -"
prefix="${prefix%/}"
[ -n "$prefix" ] || die "--prefix / is not supported"

libdir="$prefix/lib/relayd"
bindir="$prefix/bin"
stage="$libdir.new"
old="$libdir.old"

# Runs a command, or prints it with --dry-run.
run() {
  if [ "$dry_run" -eq 1 ]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# --- Node.js ---------------------------------------------------------------
node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || die "node is not installed (relayd needs Node.js 20.11 or newer)"
node_bin="$(readlink -f "$node_bin")"
"$node_bin" -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 20 || (major === 20 && minor >= 11) ? 0 : 1);
' || die "$node_bin is Node.js $("$node_bin" --version); relayd needs 20.11 or newer"

# relayd.service runs with ProtectHome=yes as the relayd user: neither Node.js
# nor the programs may live under a home directory (an nvm-installed node, say).
if [ "$system" -eq 1 ]; then
  for path in "$node_bin" "$prefix"; do
    case "$path" in
    /root | /root/* | /home | /home/* | /run/user/*)
      die "$path is under a home directory, which relayd.service cannot see (ProtectHome=yes) and the relayd user cannot read: install Node.js system-wide (e.g. /usr/bin/node) and use a system prefix"
      ;;
    esac
  done
fi

if [ "$system" -eq 1 ] && [ "$dry_run" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "creating the relayd user and writing /etc need root: run it with sudo, or pass --no-system"
fi

# --- 1. Build --------------------------------------------------------------
if [ "$build" -eq 1 ]; then
  note "building the workspace"
  run "$root/scripts/pnpm" --dir "$root" install --frozen-lockfile
  run "$root/scripts/pnpm" --dir "$root" run build
fi

# The workspace packages the two programs load: @relayd/relayd and
# @relayd/relayctl and everything they depend on through workspace: links.
mapfile -t runtime_packages < <("$node_bin" --input-type=module -e '
  import { readdirSync, readFileSync, existsSync } from "node:fs";
  const root = process.argv[1];
  const byName = new Map();
  for (const dir of readdirSync(`${root}/packages`)) {
    const file = `${root}/packages/${dir}/package.json`;
    if (existsSync(file)) byName.set(JSON.parse(readFileSync(file, "utf8")).name, { dir, file });
  }
  const seen = new Set();
  const visit = (name) => {
    const pkg = byName.get(name);
    if (!pkg) throw new Error(`workspace package ${name} not found under packages/`);
    if (seen.has(pkg.dir)) return;
    seen.add(pkg.dir);
    const deps = JSON.parse(readFileSync(pkg.file, "utf8")).dependencies ?? {};
    for (const [dep, spec] of Object.entries(deps)) if (String(spec).startsWith("workspace:")) visit(dep);
  };
  visit("@relayd/relayd");
  visit("@relayd/relayctl");
  console.log([...seen].sort().join("\n"));
' "$root")
[ "${#runtime_packages[@]}" -gt 0 ] || die "could not work out the runtime packages"
note "runtime packages: ${runtime_packages[*]}"

if [ "$dry_run" -eq 0 ]; then
  for p in "${runtime_packages[@]}"; do
    [ -d "$root/packages/$p/dist/src" ] || die "packages/$p is not built (no dist/src): run without --no-build"
  done
fi

# Rewrites the default install paths in a unit file for another prefix.
render() {
  if [ "$prefix" = /usr/local ]; then cat "$1"; else sed -e "s#/usr/local/#$prefix/#g" "$1"; fi
}

# --- 2. PREFIX/lib/relayd ----------------------------------------------------
note "installing into $libdir"
run rm -rf "$stage" "$old"
run mkdir -p "$stage/packages" "$bindir"
# The workspace manifests and the lockfile: pnpm installs exactly the locked
# versions of the production dependencies of the packages present.
run cp "$root/package.json" "$root/pnpm-workspace.yaml" "$root/pnpm-lock.yaml" "$stage/"
for p in "${runtime_packages[@]}"; do
  run mkdir -p "$stage/packages/$p"
  run cp "$root/packages/$p/package.json" "$stage/packages/$p/"
  run cp -R "$root/packages/$p/dist" "$stage/packages/$p/dist"
  run rm -rf "$stage/packages/$p/dist/test"
  run find "$stage/packages/$p/dist" -name '*.tsbuildinfo' -delete
done
# Copies, not hard links into the build user's pnpm store: the installed
# tree must not change when that store is pruned or edited.
if [ "$dry_run" -eq 1 ]; then
  echo "+ (cd $stage && $root/scripts/pnpm install --prod --frozen-lockfile --prefer-offline --ignore-scripts --config.package-import-method=copy)"
else
  (cd "$stage" && "$root/scripts/pnpm" install --prod --frozen-lockfile --prefer-offline --ignore-scripts \
    --config.package-import-method=copy --reporter=append-only) >"$stage.pnpm.log" 2>&1 ||
    {
      cat "$stage.pnpm.log" >&2
      die "pnpm install of the production dependencies failed"
    }
  rm -f "$stage.pnpm.log"
fi
run mkdir -p "$stage/docs" "$stage/configs" "$stage/systemd"
run cp "$root"/docs/*.md "$root/docs/grafana-dashboard.json" "$stage/docs/"
run cp "$root"/configs/* "$stage/configs/"
for unit in relayd.service relayd-pt@.service 99-relayd.conf; do
  if [ "$dry_run" -eq 1 ]; then
    echo "+ render $root/systemd/$unit > $stage/systemd/$unit"
  else
    render "$root/systemd/$unit" >"$stage/systemd/$unit"
  fi
done
if [ "$dry_run" -eq 0 ]; then
  commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  dirty=""
  if [ "$commit" != unknown ] && [ -n "$(git -C "$root" status --porcelain 2>/dev/null | head -1)" ]; then
    dirty=" (with uncommitted changes)"
  fi
  printf 'source: %s\ncommit: %s%s\ninstalled: %s\nnode: %s\n' \
    "$root" "$commit" "$dirty" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$node_bin" >"$stage/install-info.txt"
  # The new tree must run before it replaces the old one.
  "$node_bin" "$stage/packages/relayd/dist/src/main.js" build-info >/dev/null ||
    die "the assembled tree in $stage does not run (relayd build-info failed)"
  "$node_bin" "$stage/packages/relayctl/dist/src/main.js" build-info >/dev/null ||
    die "the assembled tree in $stage does not run (relayctl build-info failed)"
fi
if [ -e "$libdir" ]; then run mv "$libdir" "$old"; fi
run mv "$stage" "$libdir"
run rm -rf "$old"

for program in relayd relayctl; do
  entry="$libdir/packages/$program/dist/src/main.js"
  if [ "$dry_run" -eq 1 ]; then
    echo "+ write $bindir/$program: exec $node_bin $entry \"\$@\""
  else
    tmp="$bindir/.$program.tmp.$$"
    cat >"$tmp" <<EOF
#!/bin/sh
# $program, installed by relayd's scripts/install.sh (see $libdir/install-info.txt).
exec '$node_bin' '$entry' "\$@"
EOF
    chmod 0755 "$tmp"
    mv -f "$tmp" "$bindir/$program"
  fi
done
if [ "$dry_run" -eq 0 ]; then
  "$bindir/relayd" build-info >/dev/null || die "$bindir/relayd does not run"
fi
note "installed $bindir/relayd and $bindir/relayctl"

# --- 3. System ---------------------------------------------------------------
if [ "$system" -eq 0 ]; then
  note "--no-system: no user, /etc, /var or systemd changes; the rendered units are in $libdir/systemd/"
  exit 0
fi

if getent group relayd >/dev/null; then
  note "group relayd exists"
else
  run groupadd --system relayd
fi
if getent passwd relayd >/dev/null; then
  note "user relayd exists"
else
  run useradd --system --gid relayd --home-dir /var/lib/relayd --no-create-home \
    --shell /usr/sbin/nologin --comment "relayd Tor bridge" relayd
fi
# install -d on an existing directory sets its owner and mode again: keys
# under a DataDirectory others can enter would be refused by relayd anyway.
run install -d -o relayd -g relayd -m 0700 /var/lib/relayd
run install -d -o relayd -g relayd -m 0700 /var/log/relayd
run install -d -o root -g relayd -m 0750 /etc/relayd
if [ -e /etc/relayd/torrc ]; then
  note "/etc/relayd/torrc exists: left as it is (examples: $libdir/configs/)"
else
  run install -o root -g relayd -m 0640 "$root/configs/vanilla-bridge.torrc" /etc/relayd/torrc
fi

run install -d -m 0755 /etc/systemd/system /etc/sysctl.d
run install -m 0644 "$libdir/systemd/relayd.service" /etc/systemd/system/relayd.service
run install -m 0644 "$libdir/systemd/relayd-pt@.service" /etc/systemd/system/relayd-pt@.service
run install -m 0644 "$libdir/systemd/99-relayd.conf" /etc/sysctl.d/99-relayd.conf

if [ -d /run/systemd/system ]; then
  run systemctl daemon-reload
  sysctl_bin=/usr/lib/systemd/systemd-sysctl
  [ -x "$sysctl_bin" ] || sysctl_bin=/lib/systemd/systemd-sysctl
  run "$sysctl_bin" /etc/sysctl.d/99-relayd.conf || note "warning: applying /etc/sysctl.d/99-relayd.conf failed; it applies at the next boot"
else
  note "systemd is not running here: run 'systemctl daemon-reload' and 'sysctl --system' on the target system"
fi

if [ "$dry_run" -eq 0 ]; then
  if "$bindir/relayd" --verify-config -f /etc/relayd/torrc >/dev/null 2>&1; then
    note "/etc/relayd/torrc is valid"
  else
    note "warning: /etc/relayd/torrc has errors; see: $bindir/relayd --verify-config -f /etc/relayd/torrc"
  fi
fi

cat <<EOF

relayd is installed. Next:
  1. edit /etc/relayd/torrc (Nickname, ContactInfo, ORPort; examples in $libdir/configs/),
     then check it: $bindir/relayd --verify-config -f /etc/relayd/torrc
  2. systemctl enable --now relayd
  3. journalctl -u relayd   (and, with relayctl's control commands: relayctl status)
     The bridge line is in /var/lib/relayd/bridge-lines.txt.
  Back up /var/lib/relayd/keys/ (and pt_state/ for obfs4) now: see $libdir/docs/operator-guide.md.
EOF
