#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, then runs
# formatting and lint checks, every test, and each fuzz target for a fixed number of
# runs from a fixed seed. CI runs exactly this (.ci/run).
#
#   FUZZ_RUNS=N      fuzz runs per target, after the regressions (default 200000)
#   FUZZ_SEED=N      the fuzzers' seed (default 1)
#   INSTALL_ONLY=1   install the tools and peers, then stop
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_RUNS=${FUZZ_RUNS:-200000}
# A run of this script builds once: incremental caches would only take disk
# (over a gigabyte for the test build).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
FUZZ_SEED=${FUZZ_SEED:-1}
step() { printf '\n==> %s\n' "$*"; }

step "tools"
df -h . | tail -n 1 | awk '{print "disk: " $4 " free of " $2}'
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" \
    || rustup component add "$component"
done
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

step "test peers"
# Real FTP clients the interop tests run against our server, and
# fail2ban-regex, which checks the shipped fail2ban filter on a real log.
missing=()
for tool in curl lftp wget python3 tnftp inetutils-ftp rclone; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
command -v fail2ban-regex >/dev/null || missing+=(fail2ban)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# The reference servers: vsftpd, pure-ftpd and ProFTPD (its mod_tls is in
# proftpd-mod-crypto) unpacked from their Debian packages into
# target/peers (installed, they conflict with each other and start system
# services); pyftpdlib from PyPI.
peers=target/peers
if [ ! -x "$peers/root/usr/sbin/vsftpd" ] || [ ! -x "$peers/root/usr/sbin/pure-ftpd" ] \
    || [ ! -f "$peers/root/usr/lib/proftpd/mod_tls.so" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Shared libraries the three servers link against.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libwrap0 libsodium23 libcap2 openssl \
    libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libidn2-0 libacl1
  mkdir -p "$peers/debs" "$peers/root"
  (cd "$peers/debs" && apt-get download vsftpd pure-ftpd proftpd-core proftpd-mod-crypto)
  for deb in "$peers"/debs/*.deb; do dpkg-deb -x "$deb" "$peers/root"; done
fi
python3 -c 'import pyftpdlib' 2>/dev/null || python3 -m pip install --quiet pyftpdlib
[ "${INSTALL_ONLY:-0}" = 1 ] && exit 0

step "format"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

step "lints"
cargo clippy --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet
# Clients embed without the binaries' or the server's dependencies.
for crate in ftp-std ftp-smol; do
  if cargo tree -p "$crate" --no-default-features -e normal --prefix none \
      | grep -E '^(argon2|cap-std|clap|indicatif|ftp-fs|ftp-accounts) '; then
    echo "$crate without default features pulls in the above"
    exit 1
  fi
done

step "packaging"
# Cargo unpacks the packaged crates under CARGO_HOME in a folder named
# after this checkout's path and never refreshes a version it unpacked
# once: a checkout that packaged 0.1.0 before would verify against its old
# sources. Drop those copies of our own crates first.
for crate in $(cargo metadata --no-deps --format-version 1 \
    | python3 -c 'import json, sys; [print(p["name"] + "-" + p["version"]) for p in json.load(sys.stdin)["packages"]]'); do
  rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/"$crate"
done
cargo publish --workspace --exclude ftp-tests --dry-run

step "tests"
# Property tests explore the same cases on every run (proptest's own seed
# is random); PROPTEST_RNG_SEED=<n> explores others.
export PROPTEST_RNG_SEED=${PROPTEST_RNG_SEED:-1}
cargo nextest run --workspace --all-features --no-fail-fast
cargo test --workspace --all-features --doc

step "fuzz targets: regressions replayed, then ${FUZZ_RUNS} runs from seed ${FUZZ_SEED}"
# Deterministic: the same seed, the same run count and a fresh working
# corpus every time, so a submission fails only for a crash its own code
# lets the fuzzer reach. Random, longer fuzzing is ./scripts/fuzz.sh.
passed=0
failed=0
for target in $(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz list); do
  work="target/fuzz-ci/$target"
  rm -rf "$work" && mkdir -p "$work"
  runs=$FUZZ_RUNS
  # Their TLS handshakes cost milliseconds each under the sanitizer.
  [ "$target" = server_session ] && runs=$((FUZZ_RUNS / 10))
  [ "$target" = client_session ] && runs=$((FUZZ_RUNS / 4))
  if RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$work" "fuzz/regressions/$target" \
      -- -seed="$FUZZ_SEED" -runs="$runs" -rss_limit_mb=2048 -print_final_stats=1 \
      > "target/fuzz-$target.log" 2>&1; then
    passed=$((passed + 1))
    echo "fuzz $target: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/fuzz-$target.log" | grep -o '[0-9]*$') runs)"
  else
    failed=$((failed + 1))
    echo "fuzz $target: FAILED"
    tail -n 40 "target/fuzz-$target.log"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
