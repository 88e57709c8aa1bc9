//! Session-level behaviour on real sockets: limits, clients that stall,
//! passive listeners that are replaced.

use ftp_tests::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn connect(server: &TestServer) -> (BufReader<TcpStream>, TcpStream) {
    let stream = TcpStream::connect(server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (BufReader::new(stream.try_clone().unwrap()), stream)
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line
}

fn sessions_beyond_the_per_address_limit_get_421(kind: ServerKind) {
    let server = TestServer::start_limited(kind, false, 1000, 2);
    let (mut first, _a) = connect(&server);
    let (mut second, _b) = connect(&server);
    assert!(line(&mut first).starts_with("220 "));
    assert!(line(&mut second).starts_with("220 "));
    let (mut third, _c) = connect(&server);
    assert_eq!(
        line(&mut third),
        "421 Too many connections; try again later.\r\n"
    );
    let mut rest = Vec::new();
    assert_eq!(
        third.read_to_end(&mut rest).unwrap(),
        0,
        "closed after the 421"
    );
    drop((first, _a));
    // The place is freed when a session ends.
    assert!(eventually(Duration::from_secs(5), || {
        let (mut again, _d) = connect(&server);
        line(&mut again).starts_with("220 ")
    }));
}

fn sessions_beyond_the_total_limit_get_421(kind: ServerKind) {
    let server = TestServer::start_limited(kind, false, 1, 10);
    let (mut first, _a) = connect(&server);
    assert!(line(&mut first).starts_with("220 "));
    let (mut second, _b) = connect(&server);
    assert!(line(&mut second).starts_with("421 "));
}

fn a_silent_client_blocks_nobody(kind: ServerKind) {
    let server = TestServer::start(kind, false);
    // Larger than the socket buffers: the transfer stalls.
    server.put("big.bin", &random_bytes(16 << 20, 3));
    // Connected, half a command, then nothing.
    let (_silent_reader, mut silent) = connect(&server);
    silent.write_all(b"USER ali").unwrap();
    // A client that starts a download and never reads its data
    // connection's bytes.
    let (mut stalled, mut stalled_w) = connect(&server);
    line(&mut stalled);
    stalled_w
        .write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
        .unwrap();
    reply(&mut stalled, "331");
    reply(&mut stalled, "230");
    let port = epsv_port(&mut stalled, &mut stalled_w);
    let _stalled_data = TcpStream::connect((server.address.ip(), port)).unwrap();
    stalled_w.write_all(b"RETR big.bin\r\n").unwrap();
    // 125 when the data connection was already open, else 150.
    let started = line(&mut stalled);
    assert!(
        started.starts_with("125 ") || started.starts_with("150 "),
        "{kind:?}: {started}"
    );
    // Others are served at once.
    for _ in 0..5 {
        let (mut reader, mut writer) = connect(&server);
        assert!(line(&mut reader).starts_with("220 "), "{kind:?}");
        writer.write_all(b"NOOP\r\nQUIT\r\n").unwrap();
        assert_eq!(line(&mut reader), "200 NOOP ok.\r\n", "{kind:?}");
        assert_eq!(line(&mut reader), "221 Goodbye.\r\n", "{kind:?}");
    }
}

/// Reads reply lines until one starts with `code` and a space.
fn reply(reader: &mut BufReader<TcpStream>, code: &str) -> String {
    loop {
        let text = line(reader);
        assert!(!text.is_empty(), "closed while waiting for {code}");
        if text.starts_with(&format!("{code} ")) {
            return text;
        }
        // Continuation lines, and the preliminary 1yz before a 2yz.
        assert!(
            text.starts_with(&format!("{code}-")) || text.starts_with(' ') || text.starts_with('1'),
            "wanted {code}, got {text:?}"
        );
    }
}

fn epsv_port(reader: &mut BufReader<TcpStream>, control: &mut TcpStream) -> u16 {
    control.write_all(b"EPSV\r\n").unwrap();
    let text = reply(reader, "229");
    text.split("(|||")
        .nth(1)
        .and_then(|t| t.split('|').next())
        .and_then(|p| p.parse().ok())
        .expect("229 port")
}

/// A passive listener replaced by a second EPSV stops listening, and the
/// new one carries the transfer, on both servers.
fn a_replaced_passive_listener_is_closed(kind: ServerKind) {
    let server = TestServer::start(kind, false);
    server.put("f.txt", b"content");
    let (mut reader, mut control) = connect(&server);
    reply(&mut reader, "220");
    control
        .write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\n").as_bytes())
        .unwrap();
    reply(&mut reader, "331");
    reply(&mut reader, "230");
    let first = epsv_port(&mut reader, &mut control);
    let second = epsv_port(&mut reader, &mut control);
    assert!(
        eventually(Duration::from_secs(5), || TcpStream::connect((
            server.address.ip(),
            first
        ))
        .is_err()),
        "{kind:?}: the first listener still accepts"
    );
    let mut data = TcpStream::connect((server.address.ip(), second)).unwrap();
    control.write_all(b"RETR f.txt\r\n").unwrap();
    let mut content = Vec::new();
    data.read_to_end(&mut content).unwrap();
    assert_eq!(content, b"content", "{kind:?}");
    reply(&mut reader, "226");
}

/// A client that pipelines far more than the session holds while it
/// cannot answer (here, the delay after a failed login) is slowed down by
/// TCP, not cut off: the server stops reading until the session wants
/// input again, and every command is answered.
fn pipelining_meets_back_pressure(kind: ServerKind) {
    let server = TestServer::start(kind, false);
    let (mut reader, mut writer) = connect(&server);
    assert!(line(&mut reader).starts_with("220 "));
    // Four times the session's input limit, sent while it waits.
    const NOOPS: usize = 4 * 64 * 1024 / 6;
    let sender = std::thread::spawn(move || {
        let mut burst = b"USER alice\r\nPASS wrong\r\n".to_vec();
        burst.extend(b"NOOP\r\n".repeat(NOOPS));
        burst.extend_from_slice(b"QUIT\r\n");
        writer.write_all(&burst).unwrap();
        writer
    });
    assert!(line(&mut reader).starts_with("331 "), "{kind:?}");
    assert!(line(&mut reader).starts_with("530 "), "{kind:?}");
    for n in 0..NOOPS {
        let reply = line(&mut reader);
        assert_eq!(reply, "200 NOOP ok.\r\n", "{kind:?}: NOOP {n}");
    }
    assert_eq!(line(&mut reader), "221 Goodbye.\r\n", "{kind:?}");
    let _ = sender.join();
}

/// The digest a system tool computes over `bytes` bytes of `file` from
/// `offset` (coreutils for the SHA family and MD5, Python's zlib for CRC32).
fn system_digest(algorithm: &str, file: &std::path::Path, offset: u64, bytes: u64) -> String {
    let slice = format!(
        "tail -c +{} {} | head -c {bytes}",
        offset + 1,
        file.display()
    );
    let tool = match algorithm {
        "SHA-1" => "sha1sum",
        "SHA-256" => "sha256sum",
        "SHA-512" => "sha512sum",
        "MD5" => "md5sum",
        _ => {
            "python3 -c 'import sys, zlib; print(format(zlib.crc32(sys.stdin.buffer.read()), \"08x\"))'"
        }
    };
    let output = run(std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{slice} | {tool}")));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// HASH over a real file agrees with the system's tools, whole and for a
/// RANG range, with every algorithm; several sessions hashing at once all
/// get their answer (the bound on concurrent digests makes them wait their
/// turn, not fail).
fn hash_agrees_with_the_system_tools(kind: ServerKind) {
    let server = TestServer::start(kind, false);
    let size: u64 = 24 << 20;
    server.put("big.bin", &random_bytes(size as usize, 11));
    let file = server.root().join("big.bin");
    let mut control = RawControl::connect(server.address);
    control.login();
    control.exchange("TYPE I\r\n", &["200"]);
    for algorithm in ["SHA-1", "SHA-256", "SHA-512", "MD5", "CRC32"] {
        let text = control.exchange(&format!("OPTS HASH {algorithm}\r\n"), &["200", "5"]);
        assert_eq!(text, format!("200 {algorithm}\r\n"), "{kind:?}");
        let whole = system_digest(algorithm, &file, 0, size);
        let text = control.exchange("HASH big.bin\r\n", &["2", "4", "5"]);
        assert_eq!(
            text,
            format!("213 {algorithm} 0-{size} {whole} big.bin\r\n"),
            "{kind:?}"
        );
        let (start, end) = (1_000_003, 9_000_000);
        let part = system_digest(algorithm, &file, start, end - start + 1);
        assert_ne!(whole, part);
        control.exchange(&format!("RANG {start} {end}\r\n"), &["350"]);
        let text = control.exchange("HASH big.bin\r\n", &["2", "4", "5"]);
        assert_eq!(
            text,
            format!("213 {algorithm} {start}-{} {part} big.bin\r\n", end + 1),
            "{kind:?}"
        );
    }

    let expected = format!(
        "213 SHA-256 0-{size} {} big.bin\r\n",
        system_digest("SHA-256", &file, 0, size)
    );
    let sessions: Vec<_> = (0..8)
        .map(|_| {
            let address = server.address;
            std::thread::spawn(move || {
                let mut control = RawControl::connect(address);
                control.login();
                control.exchange("HASH big.bin\r\n", &["2", "4", "5"])
            })
        })
        .collect();
    for session in sessions {
        assert_eq!(session.join().unwrap(), expected, "{kind:?}");
    }
}

/// A client that stops reading a download, or stops sending an upload,
/// without closing either connection: the transfer ends with 426 after
/// the stall timeout, the session goes on (the idle timeout, shorter than
/// the transfers took, does not cut in), and the stalled upload leaves
/// nothing behind.
fn stalled_transfers_end_with_426_and_the_session_goes_on(kind: ServerKind) {
    let server = TestServer::start_with(kind, false, |config| {
        config.data_stall_timeout = Duration::from_secs(1);
        config.idle_timeout = Duration::from_secs(1);
    });
    // More than the kernel's buffers on loopback take in.
    server.put("big.bin", &vec![7u8; 48 << 20]);
    let mut control = RawControl::connect(server.address);
    control.login();
    control.exchange("TYPE I\r\n", &["200"]);
    let download = control.epsv_connect();
    control.exchange("RETR big.bin\r\n", &["150", "125"]);
    let said = control.wait_for(&["426"]);
    assert!(said.contains("426 No data moved for 1 s"), "{said}");
    drop(download);
    control.exchange("NOOP\r\n", &["200"]);

    let mut upload = control.epsv_connect();
    control.exchange("STOR part.bin\r\n", &["150", "125"]);
    upload.write_all(&[1u8; 100_000]).unwrap();
    let said = control.wait_for(&["426"]);
    assert!(said.contains("426 No data moved for 1 s"), "{said}");
    control.exchange("NOOP\r\n", &["200"]);
    assert!(!server.exists("part.bin"));
    assert!(eventually(Duration::from_secs(10), || {
        server.uploads_in_progress() == 0
    }));
}

on_both_servers!(
    stalled_transfers_end_with_426_and_the_session_goes_on,
    hash_agrees_with_the_system_tools,
    sessions_beyond_the_per_address_limit_get_421,
    sessions_beyond_the_total_limit_get_421,
    a_silent_client_blocks_nobody,
    a_replaced_passive_listener_is_closed,
    pipelining_meets_back_pressure,
);
