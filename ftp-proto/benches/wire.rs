//! Parse throughput of the wire layer: control lines through the line
//! decoder and the command parser, and server replies through the reply
//! parser. Figures in items/s and bytes/s, to compare later changes with.
//!
//! Run with `cargo bench -p ftp-proto --bench wire`.
#![allow(missing_docs)]

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ftp_proto::{Command, ControlItem, LineDecoder, Reply, ReplyCode, ReplyParser};
use std::hint::black_box;

/// A client session's worth of commands, as curl and lftp send them.
const COMMANDS: &[&str] = &[
    "USER anonymous",
    "PASS ftp@example.com",
    "PWD",
    "FEAT",
    "OPTS UTF8 ON",
    "TYPE I",
    "EPSV",
    "PASV",
    "EPRT |1|127.0.0.1|40123|",
    "PORT 127,0,0,1,156,187",
    "CWD /pub/releases/2026",
    "SIZE ftp-proto-0.1.0.tar.gz",
    "MDTM ftp-proto-0.1.0.tar.gz",
    "REST 1048576",
    "RETR ftp-proto-0.1.0.tar.gz",
    "STOR upload with spaces.bin",
    "MLSD",
    "LIST -la",
    "NOOP",
    "QUIT",
];

fn command_stream(repeat: usize) -> (Vec<u8>, usize) {
    let mut wire = Vec::new();
    for _ in 0..repeat {
        for line in COMMANDS {
            wire.extend_from_slice(line.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
    }
    (wire, repeat * COMMANDS.len())
}

fn reply_stream(repeat: usize) -> (Vec<u8>, usize) {
    let replies = [
        Reply::new(ReplyCode::SERVICE_READY, "(vsFTPd 3.0.3)"),
        Reply::new(ReplyCode::NEED_PASSWORD, "Please specify the password."),
        Reply::new(ReplyCode::LOGGED_IN, "Login successful."),
        Reply::multiline(
            ReplyCode::SYSTEM_STATUS,
            [
                "Features:",
                " EPRT",
                " EPSV",
                " MDTM",
                " PASV",
                " REST STREAM",
                " SIZE",
                " TVFS",
                " UTF8",
                "End",
            ]
            .into_iter()
            .map(Into::into)
            .collect(),
        ),
        Reply::new(
            ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE,
            "Entering Extended Passive Mode (|||40001|)",
        ),
        Reply::new(
            ReplyCode::ABOUT_TO_OPEN_DATA_CONNECTION,
            "Opening BINARY mode data connection for file.bin (1048576 bytes).",
        ),
        Reply::new(ReplyCode::CLOSING_DATA_CONNECTION, "Transfer complete."),
        Reply::new(
            ReplyCode::PATHNAME_CREATED,
            "\"/pub\" is the current directory",
        ),
    ];
    let mut wire = BytesMut::new();
    for _ in 0..repeat {
        for reply in &replies {
            reply.encode(&mut wire).unwrap_or_default();
        }
    }
    (wire.to_vec(), repeat * replies.len())
}

fn parse_commands(wire: &[u8]) -> usize {
    let mut decoder = LineDecoder::default();
    decoder.push(wire);
    let mut parsed = 0;
    while let Some(item) = decoder.next_item() {
        if let ControlItem::Line(line) = item {
            parsed += usize::from(Command::parse(line).is_ok());
        }
    }
    parsed
}

fn parse_replies(wire: &[u8]) -> usize {
    let mut parser = ReplyParser::default();
    parser.push(wire);
    std::iter::from_fn(|| parser.next_reply())
        .filter(Result::is_ok)
        .count()
}

fn bench(c: &mut Criterion) {
    let (commands, command_count) = command_stream(50);
    let (replies, reply_count) = reply_stream(50);
    assert_eq!(parse_commands(&commands), command_count);
    assert_eq!(parse_replies(&replies), reply_count);

    let mut group = c.benchmark_group("commands");
    group.throughput(Throughput::Elements(command_count as u64));
    group.bench_function("items", |b| b.iter(|| parse_commands(black_box(&commands))));
    group.throughput(Throughput::Bytes(commands.len() as u64));
    group.bench_function("bytes", |b| b.iter(|| parse_commands(black_box(&commands))));
    group.finish();

    let mut group = c.benchmark_group("replies");
    group.throughput(Throughput::Elements(reply_count as u64));
    group.bench_function("items", |b| b.iter(|| parse_replies(black_box(&replies))));
    group.throughput(Throughput::Bytes(replies.len() as u64));
    group.bench_function("bytes", |b| b.iter(|| parse_replies(black_box(&replies))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
