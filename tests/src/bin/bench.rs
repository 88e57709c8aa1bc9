//! The server benchmark: our two servers and the reference servers,
//! measured side by side in one run. Run it with `./scripts/bench.sh`,
//! which installs the peers, raises the file-descriptor limit and builds
//! the release binaries first.
//!
//! Figures: curl RETR and STOR of a 1 GiB file (TYPE I, passive) against
//! iperf3 on the same loopback; sessions per second, login latency, errors
//! and server CPU per session under a load of concurrent clients (each:
//! login, 20 downloads of 4 KiB, QUIT) driven by our async client; RSS per
//! idle logged-in session on the smol server; with TLS on (FTPS, against
//! vsftpd, pure-ftpd and ProFTPD), RETR and STOR of 1 GiB with the
//! server's CPU seconds per GiB, and a TLS session load. Medians of 5
//! rounds (throughput, round-robin over the servers) or 3 runs (sessions).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ftp_proto::client::ClientConfig;
use ftp_smol::client::Client;
use ftp_tests::reference;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GIB: usize = 1 << 30;
const RUNS: usize = 3;
/// Rounds of the throughput figures, noisier than the others here.
const THROUGHPUT_RUNS: usize = 5;

/// A server under test.
struct Target {
    name: &'static str,
    port: u16,
    user: String,
    password: String,
    /// Path of the served directory on the server, where the files are.
    dir: String,
    /// The same directory on the local disk.
    files: PathBuf,
    pid: u32,
    _keep: Box<dyn std::any::Any>,
}

struct OwnServer {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn release_binary(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/release")
        .join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run ./scripts/bench.sh",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_files(dir: &Path) {
    let big = ftp_tests::random_bytes(GIB, 21);
    std::fs::write(dir.join("big.bin"), big).unwrap();
    std::fs::write(dir.join("small.bin"), ftp_tests::random_bytes(4096, 22)).unwrap();
}

fn wait_greeting(port: u16) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let mut buf = [0u8; 3];
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            if std::io::Read::read_exact(&mut stream, &mut buf).is_ok() && &buf == b"220" {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no greeting on port {port}");
}

fn own_server(name: &'static str, binary: &str, extra: &[&str]) -> Target {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    let port = free_port();
    let child = Command::new(release_binary(binary))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--root"])
        .arg(dir.path())
        .args(["--user", "bench:bench", "--no-fsync"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("server starts");
    wait_greeting(port);
    let pid = child.id();
    Target {
        name,
        port,
        user: "bench".into(),
        password: "bench".into(),
        dir: String::new(),
        files: dir.path().to_path_buf(),
        pid,
        _keep: Box::new(OwnServer { child, _dir: dir }),
    }
}

fn reference_target(server: reference::ReferenceServer) -> Target {
    let upload = server.root.join(server.writable.trim_start_matches('/'));
    write_files(&upload);
    ftp_tests::run(Command::new("chmod").arg("-R").arg("a+rw").arg(&upload));
    Target {
        name: server.name,
        port: server.port,
        user: server.user.clone(),
        password: server.password.clone(),
        dir: server.writable.clone(),
        files: upload.clone(),
        pid: server.pid(),
        _keep: Box::new(server),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn url(target: &Target, file: &str) -> String {
    let password = target.password.replace(' ', "%20").replace('@', "%40");
    format!(
        "ftp://{}:{password}@127.0.0.1:{}{}/{file}",
        target.user, target.port, target.dir
    )
}

/// curl's own figure, bytes per second, as GB/s.
fn curl_rate(args: &[&str], field: &str) -> f64 {
    let out = ftp_tests::run(
        Command::new("curl")
            .args(["-sS", "--max-time", "120", "-w", field])
            .args(args),
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .unwrap_or(0.0)
        / 1e9
}

/// One RETR and one STOR of 1 GiB: curl's rates in GB/s.
///
/// Every server starts each from the same machine state. The download's
/// file is in the page cache (read once first), so RETR measures the
/// server, not the disk. The upload starts with no dirty pages waiting for
/// the disk and with the page cache dropped: an upload's speed here
/// depends on whether the kernel hands it pages freed a moment ago or
/// pages untouched for long, which this virtual machine makes several
/// times slower to fill (profile: `copy_folio_from_iter_atomic` 64% of a
/// slow upload, 19% of a fast one). Servers that truncate the old file
/// first recycle its pages; a server that writes aside (ours, so that a
/// failed upload keeps the old content) needs fresh ones.
fn transfer_once(target: &Target, source: &Path) -> (f64, f64) {
    let _ = std::fs::read(target.files.join("big.bin"));
    let retr = curl_rate(
        &["-o", "/dev/null", &url(target, "big.bin")],
        "%{speed_download}",
    );
    ftp_tests::run(&mut Command::new("sync"));
    if std::fs::write("/proc/sys/vm/drop_caches", "1").is_err() {
        eprintln!("  (cannot drop the page cache; STOR figures will be noisier)");
    }
    let _ = std::fs::read(source);
    let stor = curl_rate(
        &["-T", source.to_str().unwrap(), &url(target, "stor.bin")],
        "%{speed_upload}",
    );
    (retr, stor)
}

/// Median RETR and STOR rates of each target over `THROUGHPUT_RUNS`
/// rounds. Each round visits every server, starting one further along, so
/// that each server takes each place in the order once.
fn throughput(targets: &[Target], work: &Path) -> Vec<(f64, f64)> {
    let source = work.join("upload.bin");
    if !source.exists() {
        std::fs::write(&source, ftp_tests::random_bytes(GIB, 23)).unwrap();
    }
    let mut rates = vec![(Vec::new(), Vec::new()); targets.len()];
    for round in 0..THROUGHPUT_RUNS {
        for k in 0..targets.len() {
            let index = (round + k) % targets.len();
            let (Some(target), Some((retrs, stors))) = (targets.get(index), rates.get_mut(index))
            else {
                continue;
            };
            let (retr, stor) = transfer_once(target, &source);
            eprintln!(
                "throughput: {} round {}: RETR {retr:.2} STOR {stor:.2} GB/s",
                target.name,
                round + 1
            );
            retrs.push(retr);
            stors.push(stor);
        }
    }
    rates
        .into_iter()
        .map(|(retrs, stors)| (median(retrs), median(stors)))
        .collect()
}

fn iperf() -> f64 {
    let port = free_port().to_string();
    let mut server = Command::new("iperf3")
        .args(["-s", "-1", "-p", &port])
        .stdout(Stdio::null())
        .spawn()
        .expect("iperf3");
    std::thread::sleep(Duration::from_millis(300));
    let out = ftp_tests::run(Command::new("iperf3").args([
        "-c",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "4",
        "-J",
    ]));
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    // "sum_received": { ... "bits_per_second": N
    let received = text.split("\"sum_received\"").nth(1).unwrap_or_default();
    let bits = received
        .split("\"bits_per_second\":")
        .nth(1)
        .and_then(|t| t.split([',', '}']).next())
        .and_then(|n| n.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    bits / 8.0 / 1e9
}

/// CPU time of a process and its reaped children, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    // After the command name: utime is field 14 of the full line, i.e.
    // index 11 here; stime, cutime, cstime follow.
    let ticks: f64 = (11..15)
        .filter_map(|i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks * 10.0
}

fn rss_kib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

struct Load {
    sessions_per_second: f64,
    login_p50_ms: f64,
    login_p99_ms: f64,
    errors: usize,
    cpu_ms_per_session: f64,
}

/// K clients at once, each: login, 20 downloads of 4 KiB, QUIT.
fn load(target: &Target, clients: usize) -> Load {
    load_with(target, clients, 20, None)
}

/// K clients at once, each: (AUTH TLS and PROT P with `tls`) login,
/// `downloads` downloads of 4 KiB, QUIT.
fn load_with(
    target: &Target,
    clients: usize,
    downloads: usize,
    tls: Option<&ftp_smol::client::TlsOptions>,
) -> Load {
    let address: SocketAddr = format!("127.0.0.1:{}", target.port).parse().unwrap();
    let small = format!("{}/small.bin", target.dir);
    let cpu_before = cpu_ms(target.pid);
    let started = Instant::now();
    let results: Vec<Result<Duration, String>> = smol::block_on(async {
        let executor = smol::LocalExecutor::new();
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (user, password, small) =
                    (target.user.clone(), target.password.clone(), small.clone());
                let tls = tls.cloned();
                executor.spawn(async move {
                    let begin = Instant::now();
                    let config = ClientConfig {
                        reply_timeout: Duration::from_secs(15),
                        data_timeout: Duration::from_secs(15),
                        ..ClientConfig::default()
                    };
                    let connected = match &tls {
                        Some(tls) => {
                            Client::connect_tls("127.0.0.1", address.port(), config, tls).await
                        }
                        None => Client::connect(address, config).await,
                    };
                    let mut client = connected.map_err(|e| e.to_string())?;
                    client
                        .login(&user, &password)
                        .await
                        .map_err(|e| e.to_string())?;
                    let login = begin.elapsed();
                    for _ in 0..downloads {
                        let mut sink = smol::io::Cursor::new(Vec::with_capacity(4096));
                        client
                            .retrieve(small.as_bytes(), 0, &mut sink)
                            .await
                            .map_err(|e| e.to_string())?;
                        if sink.get_ref().len() != 4096 {
                            return Err("short download".to_string());
                        }
                    }
                    client.quit().await.map_err(|e| e.to_string())?;
                    Ok(login)
                })
            })
            .collect();
        executor.run(async { futures_all(tasks).await }).await
    });
    let elapsed = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    let cpu = cpu_ms(target.pid) - cpu_before;
    let mut logins: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    logins.sort_by(f64::total_cmp);
    let errors = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(first)) = results.iter().find(|r| r.is_err()) {
        eprintln!("  {}: {errors} errors, first: {first}", target.name);
    }
    let ok = results.len() - errors;
    let pick = |q: f64| {
        logins
            .get(((logins.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    Load {
        sessions_per_second: ok as f64 / elapsed,
        login_p50_ms: pick(0.5),
        login_p99_ms: pick(0.99),
        errors,
        // Per completed session: a server that drops clients does not
        // look cheaper for the work it did not do.
        cpu_ms_per_session: cpu / ok.max(1) as f64,
    }
}

/// `load` run `RUNS` times: the median of each figure, and the most errors
/// of any run.
fn load_median(target: &Target, clients: usize) -> Load {
    let runs: Vec<Load> = (0..RUNS).map(|_| load(target, clients)).collect();
    let figure = |f: fn(&Load) -> f64| median(runs.iter().map(f).collect());
    Load {
        sessions_per_second: figure(|l| l.sessions_per_second),
        login_p50_ms: figure(|l| l.login_p50_ms),
        login_p99_ms: figure(|l| l.login_p99_ms),
        errors: runs.iter().map(|l| l.errors).max().unwrap_or(0),
        cpu_ms_per_session: figure(|l| l.cpu_ms_per_session),
    }
}

async fn futures_all<T>(tasks: Vec<smol::Task<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await);
    }
    out
}

/// RSS per idle logged-in session.
fn idle_memory(target: &Target, sessions: usize) -> (f64, usize) {
    let address: SocketAddr = format!("127.0.0.1:{}", target.port).parse().unwrap();
    let before = rss_kib(target.pid);
    let (clients, failed) = smol::block_on(async {
        let executor = smol::LocalExecutor::new();
        let tasks: Vec<_> = (0..sessions)
            .map(|_| {
                let (user, password) = (target.user.clone(), target.password.clone());
                executor.spawn(async move {
                    let mut client = Client::connect(address, ClientConfig::default())
                        .await
                        .ok()?;
                    client.login(&user, &password).await.ok()?;
                    Some(client)
                })
            })
            .collect();
        let results = executor.run(async { futures_all(tasks).await }).await;
        let failed = results.iter().filter(|c| c.is_none()).count();
        (results, failed)
    });
    std::thread::sleep(Duration::from_secs(1));
    let after = rss_kib(target.pid);
    drop(clients);
    ((after - before) / (sessions - failed).max(1) as f64, failed)
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 {
        format!("{:.2}", ours / theirs)
    } else {
        "-".into()
    }
}

/// Whether `part` is selected by `BENCH_PARTS` (a comma-separated list of
/// throughput, sessions, memory; all when unset).
/// One RETR and one STOR of 1 GiB over FTPS (AUTH TLS, PROT P), trusting
/// `ca`: curl's rates in GB/s and the server's CPU seconds for each.
fn ftps_once(target: &Target, source: &Path, ca: &Path) -> [f64; 4] {
    let tls = ["--ssl-reqd", "--cacert", ca.to_str().unwrap()];
    let _ = std::fs::read(target.files.join("big.bin"));
    let before = cpu_ms(target.pid);
    let retr = curl_rate(
        &[&tls[..], &["-o", "/dev/null", &url(target, "big.bin")]].concat(),
        "%{speed_download}",
    );
    let retr_cpu = (cpu_ms(target.pid) - before) / 1000.0;
    ftp_tests::run(&mut Command::new("sync"));
    let _ = std::fs::write("/proc/sys/vm/drop_caches", "1");
    let _ = std::fs::read(source);
    let before = cpu_ms(target.pid);
    let stor = curl_rate(
        &[
            &tls[..],
            &["-T", source.to_str().unwrap(), &url(target, "stor.bin")],
        ]
        .concat(),
        "%{speed_upload}",
    );
    let stor_cpu = (cpu_ms(target.pid) - before) / 1000.0;
    [retr, retr_cpu, stor, stor_cpu]
}

/// The FTPS table: our servers and the references with TLS on.
fn ftps(work: &Path) {
    let (ca, cert, key) = ftp_tests::write_test_certificates(work);
    let files = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let limits = ["--max-sessions", "5000", "--max-sessions-per-ip", "5000"];
    let mut targets = Vec::new();
    if serves("smol") {
        targets.push(own_server(
            "ours (smol)",
            "ftpd",
            &[&files[..], &limits].concat(),
        ));
    }
    if serves("std") {
        targets.push(own_server(
            "ours (std)",
            "examples/server",
            &[&files[..], &limits[..2]].concat(),
        ));
    }
    let ours = targets.len();
    if serves("vsftpd") {
        targets.push(reference_target(reference::vsftpd_tls(&cert, &key)));
    }
    if serves("pure-ftpd") {
        targets.push(reference_target(reference::pure_ftpd_tls(&cert, &key)));
    }
    if serves("proftpd") {
        targets.push(reference_target(reference::proftpd_tls(&cert, &key, false)));
    }
    let source = work.join("upload.bin");
    if !source.exists() {
        std::fs::write(&source, ftp_tests::random_bytes(GIB, 23)).unwrap();
    }
    let mut figures = vec![Vec::new(); targets.len()];
    for round in 0..RUNS {
        for k in 0..targets.len() {
            let index = (round + k) % targets.len();
            let once = ftps_once(&targets[index], &source, &ca);
            eprintln!(
                "ftps: {} round {}: RETR {:.2} GB/s {:.2} CPU s, STOR {:.2} GB/s {:.2} CPU s",
                targets[index].name,
                round + 1,
                once[0],
                once[1],
                once[2],
                once[3]
            );
            figures[index].push(once);
        }
    }
    println!(
        "\n## FTPS (explicit, PROT P, curl; 1 GiB; median of {RUNS} rounds; server CPU s per GiB)\n"
    );
    println!("| server | RETR MB/s | RETR CPU s/GiB | STOR MB/s | STOR CPU s/GiB |");
    println!("|---|---|---|---|---|");
    let mut medians = Vec::new();
    for (target, rounds) in targets.iter().zip(&figures) {
        let m: Vec<f64> = (0..4)
            .map(|i| median(rounds.iter().map(|r| r[i]).collect()))
            .collect();
        println!(
            "| {} | {:.0} | {:.2} | {:.0} | {:.2} |",
            target.name,
            m[0] * 1000.0,
            m[1],
            m[2] * 1000.0,
            m[3]
        );
        medians.push(m);
    }
    let references = || medians.iter().skip(ours);
    let fastest_retr = references().map(|m| m[0]).fold(0.0, f64::max);
    let fastest_stor = references().map(|m| m[2]).fold(0.0, f64::max);
    let cheapest_retr = references().map(|m| m[1]).fold(f64::INFINITY, f64::min);
    let cheapest_stor = references().map(|m| m[3]).fold(f64::INFINITY, f64::min);
    for (target, m) in targets.iter().zip(&medians).take(ours) {
        println!(
            "\n{}: RETR {} x the fastest reference, CPU {} x the cheapest; STOR {} x, CPU {} x",
            target.name,
            ratio(m[0], fastest_retr),
            ratio(m[1], cheapest_retr),
            ratio(m[2], fastest_stor),
            ratio(m[3], cheapest_stor)
        );
    }
    ftps_sessions(&targets, &ca);
}

/// The TLS session load: K clients at once, each AUTH TLS, login, PBSZ 0
/// and PROT P, ten downloads of 4 KiB over data connections that resume
/// the control session, QUIT. ProFTPD is left out: its master pauses
/// about 0.4 s after each session (PEERS.md), which measures the pause.
fn ftps_sessions(targets: &[Target], ca: &Path) {
    let tls = ftp_smol::client::TlsOptions {
        ca_file: Some(ca.to_path_buf()),
        ..Default::default()
    };
    println!(
        "\n## FTPS sessions (each: AUTH TLS, login, PROT P, 10 x RETR 4 KiB on resumed data connections, QUIT; K clients at once; median of {RUNS}, errors: worst run)\n"
    );
    println!("| server | K | sessions/s | errors | server CPU ms per completed session |");
    println!("|---|---|---|---|---|");
    for target in targets.iter().filter(|t| t.name != "proftpd") {
        let mut ks = vec![200];
        if target.name.starts_with("ours") {
            ks.push(1000);
        }
        for k in ks {
            eprintln!("ftps load: {} K={k} ...", target.name);
            let runs: Vec<Load> = (0..RUNS)
                .map(|_| load_with(target, k, 10, Some(&tls)))
                .collect();
            let figure = |f: fn(&Load) -> f64| median(runs.iter().map(f).collect());
            println!(
                "| {} | {k} | {:.0} | {} | {:.2} |",
                target.name,
                figure(|l| l.sessions_per_second),
                runs.iter().map(|l| l.errors).max().unwrap_or(0),
                figure(|l| l.cpu_ms_per_session)
            );
        }
    }
}

fn selected(part: &str) -> bool {
    std::env::var("BENCH_PARTS").map_or(true, |parts| parts.split(',').any(|p| p.trim() == part))
}

/// Whether the server `name` is selected by `BENCH_SERVERS` (a
/// comma-separated list of smol, std, vsftpd, pure-ftpd, proftpd (FTPS
/// only), pyftpdlib; all when unset).
fn serves(name: &str) -> bool {
    std::env::var("BENCH_SERVERS").map_or(true, |names| names.split(',').any(|n| n.trim() == name))
}

fn main() {
    let work = tempfile::tempdir().unwrap();
    eprintln!("preparing servers and files ...");
    let mut targets = Vec::new();
    if serves("smol") {
        targets.push(own_server(
            "ours (smol)",
            "ftpd",
            &["--max-sessions", "20000", "--max-sessions-per-ip", "20000"],
        ));
    }
    if serves("std") {
        targets.push(own_server(
            "ours (std)",
            "examples/server",
            &["--max-sessions", "5000"],
        ));
    }
    let ours = targets.len();
    if serves("vsftpd") {
        targets.push(reference_target(reference::vsftpd()));
    }
    if serves("pure-ftpd") {
        targets.push(reference_target(reference::pure_ftpd()));
    }
    if serves("pyftpdlib") {
        targets.push(reference_target(reference::pyftpdlib()));
    }

    if selected("throughput") {
        eprintln!("iperf3 ceiling ...");
        let ceiling = median((0..RUNS).map(|_| iperf()).collect());

        println!(
            "## Throughput (GB/s, 1 GiB, curl, median of {THROUGHPUT_RUNS} rounds); iperf3 ceiling {ceiling:.2} GB/s\n"
        );
        println!("| server | RETR | STOR | RETR / iperf3 |");
        println!("|---|---|---|---|");
        let mut rates = Vec::new();
        for (target, (retr, stor)) in targets.iter().zip(throughput(&targets, work.path())) {
            println!(
                "| {} | {retr:.2} | {stor:.2} | {} |",
                target.name,
                ratio(retr, ceiling)
            );
            rates.push((target.name, retr, stor));
        }
        let best_retr = rates.iter().skip(ours).map(|r| r.1).fold(0.0, f64::max);
        let best_stor = rates.iter().skip(ours).map(|r| r.2).fold(0.0, f64::max);
        for (name, retr, stor) in rates.iter().take(ours) {
            println!(
                "\n{name}: RETR {} x the fastest reference, STOR {} x",
                ratio(*retr, best_retr),
                ratio(*stor, best_stor)
            );
        }
    }

    if selected("sessions") {
        println!(
            "\n## Sessions (each: login, 20 x RETR 4 KiB, QUIT; K clients at once; median of {RUNS}, errors: worst run)\n"
        );
        println!(
            "| server | K | sessions/s | login p50 ms | login p99 ms | errors | server CPU ms per completed session |"
        );
        println!("|---|---|---|---|---|---|---|");
        for target in &targets {
            let mut ks = vec![200];
            if target.name.starts_with("ours") {
                ks.push(1000);
            }
            for k in ks {
                eprintln!("load: {} K={k} ...", target.name);
                let load = load_median(target, k);
                println!(
                    "| {} | {k} | {:.0} | {:.1} | {:.1} | {} | {:.2} |",
                    target.name,
                    load.sessions_per_second,
                    load.login_p50_ms,
                    load.login_p99_ms,
                    load.errors,
                    load.cpu_ms_per_session
                );
            }
        }
    }

    if selected("memory") {
        let sessions = std::env::var("BENCH_IDLE_SESSIONS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10_000);
        eprintln!("memory: {sessions} idle sessions ...");
        let smol = targets.iter().find(|t| t.name == "ours (smol)");
        let (per_session, failed) = idle_memory(smol.expect("BENCH_SERVERS has smol"), sessions);
        println!(
            "\n## Memory\n\nours (smol): {per_session:.1} KiB RSS per idle logged-in session ({sessions} sessions, {failed} failed to log in)"
        );
    }

    if selected("ftps") {
        // The plain servers stop first: the FTPS ones take their place.
        drop(targets);
        eprintln!("ftps ...");
        ftps(work.path());
    }
}
