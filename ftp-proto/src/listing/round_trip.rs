//! What the server writes, the client reads back: `ls -l` lines and MLSx
//! fact lines, formatted by this module, give the same entries through
//! [`super::parse`].

use super::parse::{EntryKind, Line, parse_list_line, parse_mlsx_line};
use super::{Facts, write_ls_line, write_mlsx_entry};
use crate::storage::{FileKind, Metadata};
use crate::timeval::from_unix_seconds;
use bytes::Bytes;
use proptest::prelude::*;
use std::time::SystemTime;

const NOW: i64 = 1_795_478_400;

/// Any name a listing can carry: no CR or LF, and for a symlink no
/// ` -> ` (the `ls -l` separator of its target).
fn name() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'),
        1..24,
    )
}

fn kind() -> impl Strategy<Value = FileKind> {
    prop_oneof![
        Just(FileKind::File),
        Just(FileKind::Directory),
        name().prop_map(|target| FileKind::Symlink(Some(Bytes::from(target)))),
    ]
}

/// A modification time and the precision an `ls -l` line keeps of it:
/// the minute within the last six months, the day before.
fn modified() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        (60i64..180 * 86_400).prop_map(|age| (NOW - age, 60)),
        (200i64 * 86_400..3000 * 86_400).prop_map(|age| (NOW - age, 86_400)),
    ]
}

fn truncated(seconds: i64, precision: i64) -> SystemTime {
    from_unix_seconds(seconds - seconds.rem_euclid(precision))
}

fn expected_kind(kind: &FileKind, from_ls: bool) -> EntryKind {
    match kind {
        FileKind::File | FileKind::Other => EntryKind::File,
        FileKind::Directory => EntryKind::Directory,
        // `ls -l` shows the target; MLSx only says it is a link.
        FileKind::Symlink(target) if from_ls => EntryKind::Symlink(target.clone()),
        FileKind::Symlink(_) => EntryKind::Symlink(None),
    }
}

proptest! {
    #[test]
    fn ls_lines_parse_back_to_the_entry(
        name in name(),
        kind in kind(),
        size in 0u64..1 << 42,
        (seconds, precision) in modified(),
        mode in 0u32..0o10000,
    ) {
        let is_link = matches!(kind, FileKind::Symlink(_));
        prop_assume!(!(is_link && name.windows(4).any(|w| w == b" -> ")));
        let metadata = Metadata {
            kind: kind.clone(),
            size,
            modified: Some(from_unix_seconds(seconds)),
            mode: Some(mode),
            unique: None,
        };
        let mut line = Vec::new();
        write_ls_line(&mut line, &name, &metadata, from_unix_seconds(NOW));
        let line = line.strip_suffix(b"\r\n").expect("CRLF");
        let Line::Entry(entry) = parse_list_line(line, from_unix_seconds(NOW)) else {
            return Err(TestCaseError::fail(format!("unparsed: {:?}", String::from_utf8_lossy(line))));
        };
        prop_assert_eq!(entry.name.as_ref(), &name[..]);
        prop_assert_eq!(entry.kind, expected_kind(&kind, true));
        prop_assert_eq!(entry.size, Some(size));
        prop_assert_eq!(entry.modified, Some(truncated(seconds, precision)));
        let permissions = entry.permissions.expect("permissions");
        let letters: Vec<char> = permissions.chars().collect();
        prop_assert_eq!(letters.len(), 9);
        for (at, bit) in [(0, 0o400), (1, 0o200), (3, 0o040), (4, 0o020), (6, 0o004), (7, 0o002)] {
            prop_assert_eq!(letters[at] != '-', mode & bit != 0, "{} for {:o}", permissions, mode);
        }
    }

    #[test]
    fn mlsx_lines_parse_back_to_the_entry(
        name in name(),
        kind in kind(),
        size in 0u64..1 << 50,
        seconds in 0i64..4_000_000_000,
        unique in any::<u64>(),
        writable in any::<bool>(),
    ) {
        let metadata = Metadata {
            kind: kind.clone(),
            size,
            modified: Some(from_unix_seconds(seconds)),
            mode: Some(0o644),
            unique: Some(unique),
        };
        let mut line = Vec::new();
        write_mlsx_entry(&mut line, &name, &metadata, Facts::ALL, writable);
        let Line::Entry(entry) = parse_mlsx_line(&line) else {
            return Err(TestCaseError::fail(format!("unparsed: {:?}", String::from_utf8_lossy(&line))));
        };
        prop_assert_eq!(entry.name.as_ref(), &name[..]);
        prop_assert_eq!(entry.kind, expected_kind(&kind, false));
        let listed_size = (kind != FileKind::Directory).then_some(size);
        prop_assert_eq!(entry.size, listed_size);
        prop_assert_eq!(entry.modified, Some(from_unix_seconds(seconds)));
        prop_assert_eq!(entry.unique, Some(format!("{unique:X}")));
        prop_assert!(entry.permissions.is_some());
    }
}
