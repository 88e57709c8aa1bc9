//! Directory listings: as the server writes them (this module: `ls -l`
//! lines for LIST and STAT, bare names for NLST, RFC 3659 fact lines for
//! MLSD and MLST), and as a client reads them ([`parse`]: Unix, DOS/IIS,
//! MLSx and EPLF lines into one [`parse::Entry`] type).
//!
//! LIST output follows vsftpd's layout (`%4d` links, `%-8s` owner and group,
//! `%8` size, zero-padded day), which every client's Unix parser reads. An
//! entry whose name holds CR or LF is left out of every listing: it would
//! forge a line, and no FTP command could name it anyway.

pub mod parse;
#[cfg(test)]
mod round_trip;

use crate::storage::{DirEntry, FileKind, Metadata};
use crate::timeval::{UtcDateTime, ls_date};
use std::fmt::Write as _;
use std::time::SystemTime;

/// Whether a name can be listed without breaking the line format.
pub fn is_listable(name: &[u8]) -> bool {
    !name.iter().any(|&b| b == b'\r' || b == b'\n')
}

/// The `ls -l` mode string: a type letter and nine permission letters.
fn mode_string(metadata: &Metadata) -> String {
    let kind = match metadata.kind {
        FileKind::File => '-',
        FileKind::Directory => 'd',
        FileKind::Symlink(_) => 'l',
        FileKind::Other => '-',
    };
    let mode = metadata.mode.unwrap_or(match metadata.kind {
        FileKind::Directory => 0o755,
        FileKind::Symlink(_) => 0o777,
        _ => 0o644,
    });
    let mut out = String::with_capacity(10);
    out.push(kind);
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    for (shift, (bit, set_x, set_no_x)) in [6u32, 3, 0].into_iter().zip(special) {
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        let executable = bits & 1 != 0;
        out.push(match (mode & bit != 0, executable) {
            (true, true) => set_x,
            (true, false) => set_no_x,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// One `ls -l` line, CRLF included, appended to `out`.
pub fn write_ls_line(out: &mut Vec<u8>, name: &[u8], metadata: &Metadata, now: SystemTime) {
    let date = match metadata.modified {
        Some(modified) => ls_date(modified, now),
        None => ls_date(now, now),
    };
    let links = if metadata.is_dir() { 2 } else { 1 };
    let head = format!(
        "{} {links:>4} {:<8} {:<8} {:>8} {date} ",
        mode_string(metadata),
        "ftp",
        "ftp",
        metadata.size
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(name);
    if let FileKind::Symlink(Some(target)) = &metadata.kind
        && is_listable(target)
    {
        out.extend_from_slice(b" -> ");
        out.extend_from_slice(target);
    }
    out.extend_from_slice(b"\r\n");
}

/// The MLSx facts a session sends (RFC 3659 §7.8), set with `OPTS MLST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facts(u8);

const FACT_NAMES: [(&str, u8); 6] = [
    ("type", 1),
    ("size", 2),
    ("modify", 4),
    ("perm", 8),
    ("unique", 16),
    ("UNIX.mode", 32),
];

impl Facts {
    /// Every fact this server can send; also the default.
    pub const ALL: Facts = Facts(63);
    /// No facts: entries are bare names.
    pub const NONE: Facts = Facts(0);

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The facts named in an `OPTS MLST` argument (`type;size;`), matched
    /// case-insensitively; unknown names are dropped (RFC 3659 §7.9).
    pub fn from_opts(list: &[u8]) -> Facts {
        let mut bits = 0;
        for name in list.split(|&b| b == b';') {
            for (known, bit) in FACT_NAMES {
                if name.eq_ignore_ascii_case(known.as_bytes()) {
                    bits |= bit;
                }
            }
        }
        Facts(bits)
    }

    /// The enabled facts as `OPTS MLST` echoes them: `type;size;`.
    pub fn to_opts(self) -> String {
        FACT_NAMES.iter().filter(|(_, bit)| self.has(*bit)).fold(
            String::new(),
            |mut s, (name, _)| {
                let _ = write!(s, "{name};");
                s
            },
        )
    }

    /// The FEAT line's argument: every supported fact, `*` marking the
    /// enabled ones.
    pub fn feat(self) -> String {
        FACT_NAMES.iter().fold(String::new(), |mut s, (name, bit)| {
            let star = if self.has(*bit) { "*" } else { "" };
            let _ = write!(s, "{name}{star};");
            s
        })
    }
}

/// The `perm` fact (RFC 3659 §7.5.5) for an object, given whether the user
/// may write.
fn perm(metadata: &Metadata, writable: bool) -> &'static str {
    match (&metadata.kind, writable) {
        (FileKind::Directory, true) => "cdeflmp",
        (FileKind::Directory, false) => "el",
        (_, true) => "adfrw",
        (_, false) => "r",
    }
}

/// One MLSx entry, `facts SP name`, without line end or leading space.
pub fn write_mlsx_entry(
    out: &mut Vec<u8>,
    name: &[u8],
    metadata: &Metadata,
    facts: Facts,
    writable: bool,
) {
    let mut text = String::new();
    if facts.has(1) {
        let kind = match &metadata.kind {
            FileKind::File => "file",
            FileKind::Directory => "dir",
            FileKind::Symlink(_) => "OS.unix=slink",
            FileKind::Other => "OS.unix=special",
        };
        let _ = write!(text, "type={kind};");
    }
    if facts.has(2) && !metadata.is_dir() {
        let _ = write!(text, "size={};", metadata.size);
    }
    if let (true, Some(modified)) = (facts.has(4), metadata.modified) {
        let _ = write!(
            text,
            "modify={};",
            UtcDateTime::from_system_time(modified).time_val()
        );
    }
    if facts.has(8) {
        let _ = write!(text, "perm={};", perm(metadata, writable));
    }
    if let (true, Some(unique)) = (facts.has(16), metadata.unique) {
        let _ = write!(text, "unique={unique:X};");
    }
    if let (true, Some(mode)) = (facts.has(32), metadata.mode) {
        let _ = write!(text, "UNIX.mode=0{:o};", mode & 0o7777);
    }
    out.extend_from_slice(text.as_bytes());
    out.push(b' ');
    out.extend_from_slice(name);
}

/// Options a client may put before a LIST or NLST pathname (`-la`, `-a -l`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// `-a`: include names starting with a dot.
    pub all: bool,
    /// `-R`: recurse (refused: see `Session`'s LIST).
    pub recursive: bool,
}

/// Splits `ls`-style flags off a LIST/NLST argument. Leading words that
/// start with `-` are flags (never passed to a shell); the rest is the
/// pathname, or `None`.
pub fn split_list_argument(argument: Option<&[u8]>) -> (ListOptions, Option<&[u8]>) {
    let mut options = ListOptions::default();
    let Some(mut rest) = argument else {
        return (options, None);
    };
    while let Some(flags) = rest.strip_prefix(b"-") {
        let end = flags.iter().position(|&b| b == b' ').unwrap_or(flags.len());
        let (word, after) = flags.split_at(end);
        options.all |= word.contains(&b'a') || word.contains(&b'A');
        options.recursive |= word.contains(&b'R');
        rest = after.trim_ascii_start();
    }
    (options, Some(rest).filter(|r| !r.is_empty()))
}

/// The longest wildcard pattern matched; a longer one is refused (501).
pub const MAX_PATTERN: usize = 255;

/// Whether a pathname's last component is a wildcard pattern (`*`, `?`,
/// `[...]`), as `mget *.txt` sends it.
pub fn is_pattern(component: &[u8]) -> bool {
    component.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Whether `name` matches the shell-style `pattern`: `*` any run of bytes,
/// `?` one byte, `[abc]`, `[a-z]` and `[!...]` (or `[^...]`) one byte of
/// (or not of) a set; a name starting with `.` only where the pattern
/// does, as shells do. Written here rather than taken from a crate:
/// names are bytes, not always UTF-8. Work is bounded by the lengths: the
/// backtracking resumes only from the last `*`.
pub fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    if name.starts_with(b".") && !pattern.starts_with(b".") {
        return false;
    }
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&byte) = name.get(n) {
        let rest = pattern.get(p..).unwrap_or_default();
        let step = match rest.first() {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => match class_matches(rest, byte) {
                Some((true, len)) => Some(p + len),
                Some((false, _)) => None,
                // An unclosed `[` is a literal.
                None => (byte == b'[').then_some(p + 1),
            },
            Some(&literal) => (literal == byte).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((after_star, from))) => {
                p = after_star;
                n = from + 1;
                star = Some((after_star, from + 1));
            }
            (None, None) => return false,
        }
    }
    pattern
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|&b| b == b'*')
}

/// A `[...]` class at the start of `pattern`: whether `byte` is in it, and
/// the class's length; `None` if it is not closed.
fn class_matches(pattern: &[u8], byte: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negated = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let &c = pattern.get(i)?;
        if c == b']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        match (pattern.get(i + 1), pattern.get(i + 2)) {
            (Some(b'-'), Some(&end)) if end != b']' => {
                found |= (c..=end).contains(&byte);
                i += 3;
            }
            _ => {
                found |= c == byte;
                i += 1;
            }
        }
    }
}

/// The entries a LIST or NLST shows: listable names, dot files only with
/// `-a`, sorted by name.
pub fn visible_entries(entries: &[DirEntry], options: ListOptions) -> Vec<&DirEntry> {
    let mut shown: Vec<&DirEntry> = entries
        .iter()
        .filter(|e| is_listable(&e.name) && (options.all || !e.name.starts_with(b".")))
        .collect();
    shown.sort_by(|a, b| a.name.cmp(&b.name));
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeval::from_unix_seconds;
    use bytes::Bytes;

    fn meta(kind: FileKind, size: u64, mode: Option<u32>) -> Metadata {
        Metadata {
            kind,
            size,
            modified: Some(from_unix_seconds(1_794_000_000)),
            mode,
            unique: Some(0x801),
        }
    }

    #[test]
    fn wildcards_match_as_a_shell_does() {
        let yes = [
            (&b"*.txt"[..], &b"a.txt"[..]),
            (b"a?c", b"abc"),
            (b"*", b"anything"),
            (b"[ab]x", b"bx"),
            (b"[a-c]*", b"cat"),
            (b"[!a]*", b"bat"),
            (b"[^a]*", b"bat"),
            (b"a*b*c", b"aXbYbZc"),
            (b".*", b".hidden"),
            (b"[]x]", b"]"),
            (b"file[", b"file["),
            (b"**", b""),
        ];
        for (pattern, name) in yes {
            assert!(
                glob_matches(pattern, name),
                "{} against {}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(name)
            );
        }
        let no = [
            (&b"*.txt"[..], &b"a.txt.gz"[..]),
            (b"*.txt", b".hidden.txt"),
            (b"a?c", b"ac"),
            (b"[ab]x", b"cx"),
            (b"[!a]*", b"apple"),
            (b"*", b".hidden"),
            (b"a*b*c", b"aXbYbZ"),
        ];
        for (pattern, name) in no {
            assert!(!glob_matches(pattern, name));
        }
        assert!(is_pattern(b"*.gz") && is_pattern(b"a?") && is_pattern(b"[ab]"));
        assert!(!is_pattern(b"plain.txt"));
    }

    /// A pattern that backtracks at every star still decides: resuming
    /// only from the last star keeps the work to the product of the
    /// lengths, not exponential.
    #[test]
    fn backtracking_patterns_decide() {
        let mut pattern = [b'*', b'a'].repeat(100);
        let name = vec![b'a'; 255];
        assert!(glob_matches(&pattern, &name));
        pattern.push(b'b');
        assert!(!glob_matches(&pattern, &name));
    }

    #[test]
    fn ls_lines_in_vsftpd_layout() {
        let now = from_unix_seconds(1_795_000_000);
        let mut out = Vec::new();
        write_ls_line(
            &mut out,
            b"report.txt",
            &meta(FileKind::File, 4096, Some(0o644)),
            now,
        );
        write_ls_line(
            &mut out,
            b"archive",
            &meta(FileKind::Directory, 4096, Some(0o755)),
            now,
        );
        write_ls_line(
            &mut out,
            b"latest",
            &meta(
                FileKind::Symlink(Some(Bytes::from_static(b"v1.2.3/"))),
                7,
                Some(0o777),
            ),
            now,
        );
        write_ls_line(
            &mut out,
            b"suid",
            &meta(FileKind::File, 0, Some(0o4754)),
            now,
        );
        write_ls_line(
            &mut out,
            b"sticky",
            &meta(FileKind::Directory, 0, Some(0o1776)),
            now,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-rw-r--r--    1 ftp      ftp          4096 Nov 06 21:20 report.txt\r\n\
             drwxr-xr-x    2 ftp      ftp          4096 Nov 06 21:20 archive\r\n\
             lrwxrwxrwx    1 ftp      ftp             7 Nov 06 21:20 latest -> v1.2.3/\r\n\
             -rwsr-xr--    1 ftp      ftp             0 Nov 06 21:20 suid\r\n\
             drwxrwxrwT    2 ftp      ftp             0 Nov 06 21:20 sticky\r\n"
        );
    }

    #[test]
    fn mlsx_entries() {
        let mut out = Vec::new();
        write_mlsx_entry(
            &mut out,
            b"report.txt",
            &meta(FileKind::File, 4096, Some(0o644)),
            Facts::ALL,
            true,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "type=file;size=4096;modify=20261106212000;perm=adfrw;unique=801;UNIX.mode=0644; report.txt"
        );
        let mut out = Vec::new();
        write_mlsx_entry(
            &mut out,
            b"pub dir",
            &meta(FileKind::Directory, 4096, None),
            Facts::ALL,
            false,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "type=dir;modify=20261106212000;perm=el;unique=801; pub dir"
        );
        let mut out = Vec::new();
        write_mlsx_entry(
            &mut out,
            b"x",
            &meta(FileKind::File, 1, None),
            Facts::NONE,
            false,
        );
        assert_eq!(out, b" x");
    }

    #[test]
    fn facts_options() {
        let facts = Facts::from_opts(b"Type;SIZE;bogus;unix.MODE;");
        assert_eq!(facts.to_opts(), "type;size;UNIX.mode;");
        assert_eq!(Facts::from_opts(b"").to_opts(), "");
        assert_eq!(facts.feat(), "type*;size*;modify;perm;unique;UNIX.mode*;");
        assert_eq!(
            Facts::ALL.feat(),
            "type*;size*;modify*;perm*;unique*;UNIX.mode*;"
        );
    }

    #[test]
    fn list_flags() {
        assert_eq!(
            split_list_argument(None),
            (
                ListOptions {
                    all: false,
                    recursive: false
                },
                None
            )
        );
        assert_eq!(
            split_list_argument(Some(b"-la")),
            (
                ListOptions {
                    all: true,
                    recursive: false
                },
                None
            )
        );
        assert_eq!(
            split_list_argument(Some(b"-l pub")),
            (
                ListOptions {
                    all: false,
                    recursive: false
                },
                Some(&b"pub"[..])
            )
        );
        assert_eq!(
            split_list_argument(Some(b"-a -l my dir")),
            (
                ListOptions {
                    all: true,
                    recursive: false
                },
                Some(&b"my dir"[..])
            )
        );
        assert_eq!(
            split_list_argument(Some(b"pub -la")),
            (
                ListOptions {
                    all: false,
                    recursive: false
                },
                Some(&b"pub -la"[..])
            )
        );
    }

    #[test]
    fn hidden_and_unlistable_names() {
        let entry = |name: &'static [u8]| DirEntry {
            name: Bytes::from_static(name),
            metadata: meta(FileKind::File, 0, None),
        };
        let entries = [
            entry(b"b"),
            entry(b".hidden"),
            entry(b"evil\r\n226 done"),
            entry(b"a"),
        ];
        let names = |options| {
            visible_entries(&entries, options)
                .iter()
                .map(|e| e.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(ListOptions {
                all: false,
                recursive: false
            }),
            [Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );
        assert_eq!(
            names(ListOptions {
                all: true,
                recursive: false
            })
            .len(),
            3
        );
    }
}
