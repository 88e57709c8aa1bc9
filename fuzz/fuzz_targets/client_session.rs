//! Fuzz target: see `ftp_proto::fuzz_checks::client_session` for the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ftp_proto::fuzz_checks::client_session(data));
