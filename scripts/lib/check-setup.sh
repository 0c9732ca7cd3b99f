#!/usr/bin/env bash
# Proves that every ensure_* step of scripts/lib/setup.sh reaches its install
# step when the tool is missing, instead of dying on the detection itself
# (a failed pipeline under `set -euo pipefail` ends the script silently).
#
# Each case runs one ensure_* function in a fresh shell with the same
# `set -euo pipefail` as scripts/run, scripts/test and scripts/bench, a PATH
# that holds only stand-ins for the package managers (and the basic system
# tools), and an empty CARGO_HOME. The stand-ins record what they were asked
# to install and then "install" it by putting a stand-in of the tool on PATH,
# so the rest of the function runs as it would after a real install.
# A second pass runs each function with the tool already present and asserts
# that nothing is installed. Takes about a second; run by scripts/test.
set -euo pipefail
cd "$(dirname "$0")/../.."

root=$(mktemp -d /tmp/motcua-check-setup.XXXXXX)
trap 'rm -rf "$root"' EXIT

# The system tools the functions use besides the ones under test.
sysbin="$root/sysbin"
mkdir -p "$sysbin"
for tool in bash awk grep sed tr cut sha256sum cat id mkdir rm ln chmod env dirname touch \
  basename head tail date find gzip printf test true false mv cp ls; do
  if command -v "$tool" >/dev/null 2>&1; then ln -sf "$(command -v "$tool")" "$sysbin/$tool"; fi
done

want_bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)

# Writes the stand-ins into $1/bin. $2 = "absent" or "present": whether the
# tools under test are there from the start.
make_stubs() {
  local dir="$1" state="$2" bin="$1/bin"
  mkdir -p "$bin" "$dir/cargo-home/bin" "$dir/pending"
  : >"$dir/installed"
  # A stand-in that "installs" a tool: records the request and writes the tool.
  cat >"$bin/_provide" <<'EOF'
#!/usr/bin/env bash
# _provide NAME VERSION-LINE: puts a stand-in NAME on PATH: the one waiting in
# pending/ if there is one, else one that prints VERSION-LINE.
if [ -e "$STUB_DIR/pending/$1" ]; then
  mv "$STUB_DIR/pending/$1" "$STUB_BIN/$1"
else
  printf '#!/usr/bin/env bash\necho "%s"\n' "$2" >"$STUB_BIN/$1"
fi
chmod +x "$STUB_BIN/$1"
EOF
  cat >"$bin/cargo" <<'EOF'
#!/usr/bin/env bash
case "$1" in
  install)
    echo "cargo $*" >>"$STUB_LOG"
    for arg in "$@"; do
      case "$arg" in
        wasm-bindgen-cli) v=""; prev=""; for a in "$@"; do [ "$prev" = --version ] && v="$a"; prev="$a"; done
                          _provide wasm-bindgen "wasm-bindgen $v" ;;
        cargo-fuzz) touch "$STUB_DIR/have-cargo-fuzz" ;;
        cargo-deb) touch "$STUB_DIR/have-cargo-deb" ;;
      esac
    done ;;
  fuzz) [ -e "$STUB_DIR/have-cargo-fuzz" ] && echo "cargo-fuzz 0.13.1" || { echo "error: no such command: fuzz" >&2; exit 101; } ;;
  deb) [ -e "$STUB_DIR/have-cargo-deb" ] && echo "3.8.0" || { echo "error: no such command: deb" >&2; exit 101; } ;;
  *) echo "unexpected: cargo $*" >&2; exit 1 ;;
esac
EOF
  cat >"$bin/rustup" <<'EOF'
#!/usr/bin/env bash
case "$*" in
  "target list --installed") [ -e "$STUB_DIR/have-wasm-target" ] && echo wasm32-unknown-unknown; echo x86_64-unknown-linux-gnu ;;
  "target add wasm32-unknown-unknown") echo "rustup $*" >>"$STUB_LOG"; touch "$STUB_DIR/have-wasm-target" ;;
  *) echo "unexpected: rustup $*" >&2; exit 1 ;;
esac
EOF
  cat >"$bin/dpkg" <<'EOF'
#!/usr/bin/env bash
[ "$1" = -s ] && [ -e "$STUB_DIR/deb-$2" ]
EOF
  cat >"$bin/apt-get" <<'EOF'
#!/usr/bin/env bash
[ "$1" = update ] && exit 0
echo "apt-get $*" >>"$STUB_LOG"
for pkg in "$@"; do
  case "$pkg" in
    -*) ;;
    install) ;;
    *) touch "$STUB_DIR/deb-$pkg"
       case "$pkg" in
         nodejs) _provide node v20.19.5 ;;
         npm) _provide npm 10.9.0 ;;
       esac ;;
  esac
done
EOF
  # npm arrives with Debian's package (or is there from the start).
  cat >"$dir/pending/npm" <<'EOF'
#!/usr/bin/env bash
[ "$1" = --version ] && { echo 10.9.0; exit 0; }
[ "$1" = ci ] || { echo "unexpected: npm $*" >&2; exit 1; }
echo "npm $* in $(basename "$PWD")" >>"$STUB_LOG"
mkdir -p node_modules
EOF
  chmod +x "$bin"/* "$dir/pending"/*
  if [ "$state" = present ]; then
    touch "$dir/have-wasm-target" "$dir/have-cargo-fuzz" "$dir/have-cargo-deb" "$dir/deb-iproute2" "$dir/deb-nftables" \
      "$dir/deb-chromium" "$dir/deb-g++" "$dir/deb-nodejs" "$dir/deb-npm"
    STUB_DIR="$dir" STUB_BIN="$bin" "$bin/_provide" wasm-bindgen "wasm-bindgen $want_bindgen"
    STUB_DIR="$dir" STUB_BIN="$bin" "$bin/_provide" node v20.19.5
    STUB_DIR="$dir" STUB_BIN="$bin" "$bin/_provide" npm 10.9.0
  fi
}

failures=0
# run_case NAME STATE EXPECTED-INSTALL-PATTERN COMMAND...
# Runs COMMAND (ensure_* calls) in a project copy with the stand-ins; it must
# exit 0, and the install log must match the pattern ("" = nothing installed).
run_case() {
  local name="$1" state="$2" expect="$3"; shift 3
  local dir="$root/$name-$state"
  mkdir -p "$dir/project/scripts/lib" "$dir/project/pwa" "$dir/project/bench/peer"
  cp scripts/lib/setup.sh "$dir/project/scripts/lib/"
  cp Cargo.lock "$dir/project/"
  cp pwa/package-lock.json "$dir/project/pwa/"
  cp bench/peer/package-lock.json "$dir/project/bench/peer/"
  make_stubs "$dir" "$state"
  local out rc=0
  out=$(cd "$dir/project" && env -i HOME="$dir" PATH="$dir/bin:$sysbin" \
    CARGO_HOME="$dir/cargo-home" STUB_DIR="$dir" STUB_BIN="$dir/bin" STUB_LOG="$dir/installed" \
    bash -c 'set -euo pipefail; source scripts/lib/setup.sh; '"$*"'; echo "reached the end"' 2>&1) || rc=$?
  local installed
  installed=$(cat "$dir/installed")
  if [ $rc -ne 0 ] || ! grep -q "reached the end" <<<"$out"; then
    echo "FAIL $name ($state): exited $rc before finishing"; sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  elif [ -z "$expect" ] && [ -n "$installed" ]; then
    echo "FAIL $name ($state): installed although present:"; sed 's/^/    /' <<<"$installed"
    failures=$((failures + 1))
  elif [ -n "$expect" ] && ! grep -Eq "$expect" <<<"$installed"; then
    echo "FAIL $name ($state): never reached the install step ($expect); installed:"
    sed 's/^/    /' <<<"${installed:-(nothing)}"
    failures=$((failures + 1))
  else
    echo "ok   $name ($state)${installed:+: $(tr '\n' ';' <<<"$installed")}"
  fi
}

# Every ensure_* function of setup.sh must have a case here.
cases=(
  "ensure_wasm_target|rustup target add wasm32-unknown-unknown|ensure_wasm_target"
  "ensure_wasm_bindgen|cargo install --locked wasm-bindgen-cli --version $want_bindgen|ensure_wasm_bindgen; wasm-bindgen --version | grep -q $want_bindgen"
  "ensure_cargo_fuzz|cargo install --locked cargo-fuzz|ensure_cargo_fuzz; cargo fuzz --version"
  "ensure_cargo_deb|cargo install --locked cargo-deb|ensure_cargo_deb; cargo deb --version"
  "ensure_apt|apt-get .*install.* iproute2 nftables|ensure_apt iproute2 nftables"
  "ensure_chromium|apt-get .*install.* chromium|ensure_chromium"
  "ensure_node|apt-get .*install.* nodejs npm|ensure_node; node --version"
  "ensure_npm_packages|npm ci .* in pwa|ensure_npm_packages pwa web-app"
  "ensure_node_modules|npm ci .* in pwa|ensure_node_modules"
  "ensure_bench_peer|npm ci .* in peer|ensure_bench_peer"
)
covered=()
for entry in "${cases[@]}"; do
  IFS='|' read -r fn expect cmd <<<"$entry"
  covered+=("$fn")
  run_case "$fn" absent "$expect" "$cmd"
  # Node packages are "present" only once installed from this lock file; the
  # present pass runs the function twice and asserts the second run is quiet.
  case "$fn" in
    ensure_npm_packages|ensure_node_modules|ensure_bench_peer)
      run_case "$fn" present "" "$cmd; : >\"\$STUB_LOG\"; $cmd" ;;
    *) run_case "$fn" present "" "$cmd" ;;
  esac
done

for fn in $(grep -oE '^ensure_[a-z_]+\(\)' scripts/lib/setup.sh | tr -d '()'); do
  if ! printf '%s\n' "${covered[@]}" | grep -qx "$fn"; then
    echo "FAIL $fn: setup.sh defines it but this check has no case for it"
    failures=$((failures + 1))
  fi
done

if [ $failures -gt 0 ]; then
  echo "set-up check: $failures failure(s)" >&2
  exit 1
fi
echo "set-up check: every ensure_* step installs what is missing and skips what is there"
