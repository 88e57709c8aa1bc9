//! Fuzz target: see `ftp_proto::fuzz_checks::reply_parser` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_proto::fuzz_checks::reply_parser(data));
