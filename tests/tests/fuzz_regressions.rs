//! Replays every committed input under `fuzz/regressions/<target>/` through
//! the same checks the fuzz targets run, so a crash found once stays fixed.

use ftp_proto::fuzz_checks;
use std::path::PathBuf;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    inputs.sort();
    assert!(
        !inputs.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    for input in inputs {
        let data = std::fs::read(&input).expect("readable input");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails its check", input.display());
    }
}

#[test]
fn line_decoder() {
    replay("line_decoder", fuzz_checks::line_decoder);
}

#[test]
fn command() {
    replay("command", fuzz_checks::command);
}

#[test]
fn reply_parser() {
    replay("reply_parser", fuzz_checks::reply_parser);
}

#[test]
fn addresses() {
    replay("addresses", fuzz_checks::addresses);
}

#[test]
fn server_session() {
    replay("server_session", fuzz_checks::server_session);
}

#[test]
fn listing() {
    replay("listing", fuzz_checks::listing);
}

#[test]
fn client_session() {
    replay("client_session", fuzz_checks::client_session);
}
