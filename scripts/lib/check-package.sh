#!/usr/bin/env bash
# Builds the Debian package from the debug binary and the built web app (as
# scripts/test leaves them: a release build would add minutes for nothing a
# package check needs), then checks what it holds, extracts it into a
# throw-away root, runs the installed binary there with the installed config,
# and verifies the systemd unit against that root. A few seconds; run by
# scripts/test after `cargo build -p server --bin motcua` and build_pwa.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh

ensure_cargo_deb
# systemd-analyze, and the system's own units the unit is verified against.
ensure_apt systemd

fail() { echo "package check: $*" >&2; exit 1; }
[ -x target/debug/motcua ] || fail "target/debug/motcua is missing: cargo build -p server --bin motcua"
[ -f pwa/dist/index.html ] || fail "pwa/dist is missing: build the web app first (build_pwa)"

work=$(mktemp -d /tmp/motcua-check-package.XXXXXX)
hub_pid=""
cleanup() { [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# cargo-deb takes the binary from target/<profile>/; a profile directory of
# our own holding a link to the debug binary avoids both a release build and
# cargo-deb's deprecated dev profile.
mkdir -p target/deb-check
ln -f target/debug/motcua target/deb-check/motcua
cargo deb -p server --no-build --profile deb-check --fast -o "$work/" >/dev/null
deb=$(ls "$work"/motcua_*.deb)

echo "==> contents of $(basename "$deb")"
contents=$(dpkg-deb -c "$deb" | awk '{ print $NF }')
for path in ./usr/bin/motcua ./usr/lib/systemd/system/motcua.service ./etc/motcua/motcua.toml \
  ./usr/share/motcua/pwa/index.html; do
  grep -qx "$path" <<<"$contents" || fail "$path is not in the package"
done
want=$(cd pwa/dist && find . -type f | wc -l)
have=$(grep -c '^\./usr/share/motcua/pwa/.*[^/]$' <<<"$contents")
[ "$have" -eq "$want" ] || fail "the package holds $have web app files, pwa/dist has $want"
info=$(dpkg-deb -I "$deb")
grep -q '^ Depends:.*adduser' <<<"$info" || fail "the package does not depend on adduser"
[ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/motcua/motcua.toml ] \
  || fail "/etc/motcua/motcua.toml is not the conffile"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst | grep -q 'adduser --system --group .* motcua' \
  || fail "postinst does not create the motcua system user"

echo "==> the installed binary, in a throw-away root"
root="$work/root"
dpkg-deb -x "$deb" "$root"
version=$("$root/usr/bin/motcua" --version)
[ "$version" = "motcua $(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)" ] \
  || fail "--version printed '$version'"
# A marker in the installed web app shows the binary found it beside itself
# (usr/bin/../share/motcua/pwa) and not the source tree's pwa/dist.
marker="installed-web-app-$$"
echo "<!-- $marker -->" >>"$root/usr/share/motcua/pwa/index.html"
# The installed config, with the data directory and address a flag gives.
: >"$work/hub.out"  # before the hub opens it, for the loop below to read
"$root/usr/bin/motcua" serve --config "$root/etc/motcua/motcua.toml" \
  --data "$work/data" --listen 127.0.0.1:0 >"$work/hub.out" 2>"$work/hub.err" &
hub_pid=$!
port=""
for _ in $(seq 300); do
  port=$(sed -n 's/^motcua hub listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/hub.out")
  [ -n "$port" ] && break
  kill -0 "$hub_pid" 2>/dev/null || fail "the installed hub exited: $(cat "$work/hub.err")"
  sleep 0.1
done
[ -n "$port" ] || fail "the installed hub did not start listening"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
page=$(timeout 10 cat <&3)
exec 3<&-
grep -q "$marker" <<<"$page" || fail "the hub did not serve the installed web app: $(head -c 300 <<<"$page")"
[ -f "$work/data/motcua.sqlite" ] || fail "the hub made no database in --data"
kill "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; hub_pid=""

echo "==> the systemd unit"
unit="$root/usr/lib/systemd/system/motcua.service"
for line in 'User=motcua' 'Restart=on-failure' 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/motcua' \
  'NoNewPrivileges=true' 'PrivateTmp=true' 'ExecStart=/usr/bin/motcua serve --config /etc/motcua/motcua.toml'; do
  grep -qx "$line" "$unit" || fail "the unit lacks $line"
done
# Verified inside the extracted root, so its ExecStart binary is the
# package's; the system's own units (targets the unit depends on) are laid
# beside it. verify reports a bad setting as a warning and still exits 0, so
# any output fails too.
cp -an /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
out=$(systemd-analyze verify --man=no --generators=no --root="$root" motcua.service 2>&1) \
  || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
# The hardening as systemd scores it (0 = locked down, 10 = exposed; the threshold counts tenths).
systemd-analyze security --offline=true --root="$root" --threshold=30 motcua.service >/dev/null \
  || fail "the unit's exposure is above 3: $(systemd-analyze security --offline=true --root="$root" motcua.service | tail -1)"

echo "package check: $(basename "$deb") holds the binary, unit, config and web app; it runs from its root and its unit verifies"
