# Install steps shared by scripts/run, scripts/test and scripts/bench.
# Every function installs only what is missing, so running them again is cheap.

# Runs a command as root (CI runs as root; a developer may need sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, installed together with one `apt-get update` if any is missing.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "==> adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
  fi
}

# cargo-fuzz, built from crates.io (scripts/fuzz runs it on stable Rust).
ensure_cargo_fuzz() {
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install --locked cargo-fuzz
  fi
}

# cargo-deb, built from crates.io: scripts/package and the package check
# make the Debian package with it.
ensure_cargo_deb() {
  if ! cargo deb --version >/dev/null 2>&1; then
    echo "==> installing cargo-deb"
    cargo install --locked cargo-deb
  fi
}

# The wasm-bindgen CLI at exactly the version of the wasm-bindgen crate in
# Cargo.lock (the two must match). Built from crates.io.
ensure_wasm_bindgen() {
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
  # `|| true`: with the tool missing the pipeline fails, and under
  # `set -euo pipefail` that would end the script before the install below.
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }') || true
  if [ "$have" != "$want" ]; then
    echo "==> installing wasm-bindgen-cli $want${have:+ (found $have)}"
    # --locked first; if a locked dependency is no longer on the registry,
    # resolve again within the CLI's own version requirements.
    cargo install --locked wasm-bindgen-cli --version "$want" \
      || cargo install --force wasm-bindgen-cli --version "$want"
  fi
}

# Node.js 20.19+ (Vite 7 needs it) with npm.
ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_apt nodejs npm
  fi
  local major minor
  IFS=. read -r major minor _ <<<"$(node --version | tr -d v)"
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    echo "Node.js $(node --version) is too old for the web app's build (Vite 7): install Node.js 20.19 or later" >&2
    return 1
  fi
}

# The node packages of a folder (the web app, the benchmark peer) from its
# committed package-lock.json, only when node_modules is missing or was
# installed from another lock file.
ensure_npm_packages() {
  local dir="$1" what="$2"
  ensure_node
  local stamp="$dir/node_modules/.motcua-lock"
  local want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing $what (npm ci in $dir)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}

ensure_node_modules() {
  ensure_npm_packages pwa "the web app's node packages"
}

# The peer the benchmarks compare against (bench/peer): the automerge-repo
# sync server and clients from npm, at the versions pinned in its
# package-lock.json.
ensure_bench_peer() {
  ensure_npm_packages bench/peer "the benchmark peer (automerge-repo)"
}

# Debian's Chromium, which the browser tests drive (Playwright's own
# browser download is not used).
ensure_chromium() {
  ensure_apt chromium
}

# Builds the WebAssembly core and the web app into pwa/dist.
build_pwa() {
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_node_modules
  echo "==> building the WebAssembly core"
  cargo build --release --target wasm32-unknown-unknown -p motcua-wasm
  wasm-bindgen --target web --out-dir pwa/src/wasm-pkg --out-name motcua \
    target/wasm32-unknown-unknown/release/motcua_wasm.wasm
  echo "==> building the web app"
  (cd pwa && npm run --silent build)
  # The hub sends these gzipped copies to browsers that accept gzip: the
  # WebAssembly core shrinks to about a third for a slow first visit.
  find pwa/dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' \
    -o -name '*.html' -o -name '*.svg' -o -name '*.webmanifest' -o -name '*.json' \) \
    -exec gzip -9 -k -f {} +
}
