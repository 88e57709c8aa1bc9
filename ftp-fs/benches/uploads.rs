//! Upload speed through `DiskStorage`, unnamed (`O_TMPFILE`, the default)
//! against named (`with_named_uploads`) files written aside: one large
//! upload, and many small ones, each replacing an existing file, with and
//! without fsync. Prints a Markdown table and the ratio unnamed / named.
//!
//! `cargo bench -p ftp-fs --bench uploads` (in `scripts/bench.sh`, part
//! `storage`). `UPLOAD_BENCH_DIR` picks the file system (default: the
//! system's temporary directory).

use ftp_fs::{DiskStorage, OpenedFile, Upload};
use ftp_proto::path::VirtualPath;
use ftp_proto::storage::{Request, WriteMode};
use std::io::Write;
use std::time::{Duration, Instant};

const LARGE: usize = 512 << 20;
const SMALL: usize = 16 << 10;
const SMALL_FILES: usize = 2_000;
const ROUNDS: usize = 3;

fn upload(storage: &DiskStorage, name: &str) -> Upload {
    let request = Request::OpenWrite {
        path: VirtualPath::root().resolve(name.as_bytes()).unwrap(),
        mode: WriteMode::Replace,
    };
    match storage.handle(&request).unwrap().1 {
        Some(OpenedFile::Write(upload)) => upload,
        other => panic!("{other:?}"),
    }
}

/// Writes `files` files of `size` bytes (each replacing the last round's),
/// in 256 KiB writes as the transfer loop does; the time taken.
fn run(storage: &DiskStorage, files: usize, size: usize) -> Duration {
    let chunk = vec![0x5a_u8; 256 << 10];
    let started = Instant::now();
    for n in 0..files {
        let mut upload = upload(storage, &format!("/f{n}"));
        let mut left = size;
        while left > 0 {
            let now = left.min(chunk.len());
            upload.file().write_all(&chunk[..now]).unwrap();
            left -= now;
        }
        upload.commit().unwrap();
    }
    started.elapsed()
}

fn main() {
    let base = std::env::var_os("UPLOAD_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(&base).unwrap();
    println!(
        "## Uploads written aside: unnamed (O_TMPFILE) vs named, in {}",
        base.display()
    );
    println!();
    println!("| case | fsync | named | unnamed | unnamed / named |");
    println!("|---|---|---|---|---|");
    for fsync in [false, true] {
        let named = DiskStorage::open(dir.path(), fsync)
            .unwrap()
            .with_named_uploads();
        let unnamed = DiskStorage::open(dir.path(), fsync).unwrap();
        // Fewer small files with fsync: each costs a disk flush.
        let small_files = if fsync { SMALL_FILES / 4 } else { SMALL_FILES };
        for (case, files, size) in [
            (format!("1 × {} MiB", LARGE >> 20), 1, LARGE),
            (
                format!("{small_files} × {} KiB", SMALL >> 10),
                small_files,
                SMALL,
            ),
        ] {
            // Every file exists already: each upload replaces one.
            run(&named, files, size);
            let (mut best_named, mut best_unnamed) = (Duration::MAX, Duration::MAX);
            for _ in 0..ROUNDS {
                best_named = best_named.min(run(&named, files, size));
                best_unnamed = best_unnamed.min(run(&unnamed, files, size));
            }
            let rate = |took: Duration| {
                let mib = (files * size) as f64 / f64::from(1 << 20) / took.as_secs_f64();
                format!(
                    "{mib:.0} MiB/s, {:.0} files/s",
                    files as f64 / took.as_secs_f64()
                )
            };
            println!(
                "| {case} | {} | {} | {} | {:.2} |",
                if fsync { "on" } else { "off" },
                rate(best_named),
                rate(best_unnamed),
                best_named.as_secs_f64() / best_unnamed.as_secs_f64(),
            );
        }
    }
}
