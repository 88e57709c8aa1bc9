//! Many sessions at once on the ftp-smol server: limits, and clients that
//! stall.

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

#[test]
fn sessions_beyond_the_per_address_limit_get_421() {
    let server = TestServer::start_limited(false, 1000, 2);
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

#[test]
fn sessions_beyond_the_total_limit_get_421() {
    let server = TestServer::start_limited(false, 1, 10);
    let (mut first, _a) = connect(&server);
    assert!(line(&mut first).starts_with("220 "));
    let (mut second, _b) = connect(&server);
    assert!(line(&mut second).starts_with("421 "));
}

#[test]
fn a_silent_client_blocks_nobody() {
    let server = TestServer::start(false);
    server.put("f.txt", b"data");
    // Connected, half a command, then nothing.
    let (_silent_reader, mut silent) = connect(&server);
    silent.write_all(b"USER ali").unwrap();
    // A client that never reads its data connection's bytes.
    let (mut stalled, mut stalled_w) = connect(&server);
    line(&mut stalled);
    stalled_w
        .write_all(format!("USER {USER}\r\nPASS {PASSWORD}\r\nEPSV\r\n").as_bytes())
        .unwrap();
    for _ in 0..3 {
        line(&mut stalled);
    }
    // Others are served at once.
    for _ in 0..5 {
        let (mut reader, mut writer) = connect(&server);
        assert!(line(&mut reader).starts_with("220 "));
        writer.write_all(b"NOOP\r\nQUIT\r\n").unwrap();
        assert_eq!(line(&mut reader), "200 NOOP ok.\r\n");
        assert_eq!(line(&mut reader), "221 Goodbye.\r\n");
    }
}
