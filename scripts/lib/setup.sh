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

# The peer the benchmarks compare against (bench/peer): the automerge-repo
# sync server and clients from npm, at the versions pinned in its
# package-lock.json. Installed again only when the lock file changed.
ensure_bench_peer() {
  local dir=bench/peer
  if ! command -v node >/dev/null 2>&1; then
    ensure_apt nodejs npm
  fi
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.motcua-installed-lock"; then
    echo "==> installing the benchmark peer (automerge-repo) from npm"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.motcua-installed-lock)
  fi
}
