//! Commands answered per second by one server session, no sockets: the
//! engine's own cost per command.
//!
//! Run with `cargo bench -p ftp-proto --bench engine`.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ftp_proto::clock::Timestamp;
use ftp_proto::server::{Action, Event, Permissions, ServerConfig, Session};
use std::hint::black_box;
use std::sync::Arc;

const COMMANDS: &[u8] =
    b"NOOP\r\nPWD\r\nTYPE I\r\nSYST\r\nMODE S\r\nSTRU F\r\nFEAT\r\nREST 100\r\n";
const PER_ROUND: u64 = 8;

fn logged_in() -> Session {
    let now = Timestamp::ZERO;
    let config = Arc::new(ServerConfig::default());
    let mut session = Session::new(
        config,
        "127.0.0.1:40000".parse().unwrap(),
        "127.0.0.1:21".parse().unwrap(),
        now,
    );
    session.handle_input(b"USER alice\r\nPASS secret\r\n", now);
    while let Some(action) = session.poll_action() {
        if let Action::Authenticate { id, .. } = action {
            session.handle_event(
                Event::Authenticated {
                    id,
                    result: Ok(Permissions::ReadWrite),
                },
                now,
            );
        }
    }
    session
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(PER_ROUND * 100));
    let mut session = logged_in();
    let now = Timestamp::ZERO;
    group.bench_function("commands", |b| {
        b.iter(|| {
            let mut sent = 0;
            for _ in 0..100 {
                session.handle_input(black_box(COMMANDS), now);
                while let Some(action) = session.poll_action() {
                    if let Action::Send(bytes) = action {
                        sent += bytes.len();
                    }
                }
            }
            sent
        })
    });
    group.finish();
    let mut group = c.benchmark_group("sessions");
    group.throughput(Throughput::Elements(1));
    group.bench_function("login_and_quit", |b| {
        b.iter(|| {
            let mut session = logged_in();
            session.handle_input(b"QUIT\r\n", now);
            while session.poll_action().is_some() {}
            session.is_closed()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
