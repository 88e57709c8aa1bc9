#!/usr/bin/env bash
# The benchmark: builds the release binaries, starts our two servers and the
# reference servers (vsftpd, pure-ftpd, ProFTPD, pyftpdlib) on loopback, measures
# them side by side with curl, iperf3 and a load generator on our async
# client, and prints Markdown tables (see BENCHMARKS.md).
#
#   BENCH_IDLE_SESSIONS=N   idle sessions for the memory figure (10000)
#   BENCH_PARTS=LIST        some of: throughput,sessions,memory,ftps,engine,storage (all)
#   BENCH_SERVERS=LIST      some of: smol,std,vsftpd,pure-ftpd,proftpd,pyftpdlib (all)
set -euo pipefail
cd "$(dirname "$0")/.."

# Peers and reference servers, as the test suite installs them.
INSTALL_ONLY=1 ./scripts/test.sh
command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iperf3
# 10,000 sessions need more than the default 1024 descriptors.
ulimit -n "$(ulimit -Hn)"
cargo build --release -p ftp-smol --bin ftpd -p ftp-std --example server -p ftp-tests --bin bench
target/release/bench
# The engine alone, no sockets: the wire parsers and one server session.
if [[ -z "${BENCH_PARTS:-}" || ",$BENCH_PARTS," == *",engine,"* ]]; then
    echo
    echo "## Engine alone (criterion; time per iteration and throughput)"
    cargo bench -p ftp-proto --bench wire --bench engine -- \
        --warm-up-time 1 --measurement-time 3 2>&1 |
        grep -E 'time:|thrpt:' | grep -v '%' || true
fi
# Uploads written aside, unnamed (O_TMPFILE) against named, in ftp-fs alone.
if [[ -z "${BENCH_PARTS:-}" || ",$BENCH_PARTS," == *",storage,"* ]]; then
    echo
    cargo bench -p ftp-fs --bench uploads 2>/dev/null
fi
