//! Reading directory listings, as a client: LIST output in its Unix
//! (`ls -l`), DOS/IIS and EPLF shapes, and MLSD/MLST fact lines (RFC 3659
//! §7), all into one [`Entry`] type.
//!
//! LIST output has no standard (RFC 959 §4.1.3); PROTOCOL.md §8 describes
//! the shapes real servers send. Rules followed here:
//! - a line starting with `+` is EPLF; one starting with a `MM-DD-YY` or
//!   `YYYY-MM-DD` date is DOS; one starting with a Unix mode string is Unix;
//! - `total N` and blank lines are skipped; any other line that no parser
//!   understands is kept as [`Line::Unparsed`], so one odd line never fails
//!   a listing and nothing is dropped silently;
//! - names are bytes and keep every space, leading and trailing included;
//! - Unix lines are anchored on their date (month, day, then a time or a
//!   year), so owners and groups may be missing or hold spaces;
//! - dates without a year take the year that puts them no later than a day
//!   after `now`, which the caller passes in (no clock is read).
//!
//! A name that holds `/` or `\`, or is empty, `.` or `..`, is not safe to
//! join to a local directory: [`Entry::has_safe_name`] says so, because a
//! hostile server can put anything in a listing.

use crate::timeval::{UtcDateTime, from_unix_seconds, unix_seconds};
use bytes::Bytes;
use std::time::SystemTime;

/// What kind of object an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link, with its target when the listing shows it.
    Symlink(Option<Bytes>),
    /// A device, FIFO, socket or other special file.
    Special,
    /// The listing does not say.
    Unknown,
}

/// One parsed listing entry. Fields the listing does not show are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The name, exactly as listed.
    pub name: Bytes,
    /// The kind of object.
    pub kind: EntryKind,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Modification time. MLSx times are UTC; LIST times are the server's
    /// local time, read as if UTC.
    pub modified: Option<SystemTime>,
    /// Permissions as listed: `rwxr-xr-x` for Unix lines, the RFC 3659
    /// `perm` fact for MLSx, the octal mode for EPLF.
    pub permissions: Option<String>,
    /// Owner, where listed.
    pub owner: Option<String>,
    /// Group, where listed.
    pub group: Option<String>,
    /// The server's unique id for the object (MLSx `unique`, EPLF `i`).
    pub unique: Option<String>,
}

impl Entry {
    fn new(name: Bytes, kind: EntryKind) -> Entry {
        Entry {
            name,
            kind,
            size: None,
            modified: None,
            permissions: None,
            owner: None,
            group: None,
            unique: None,
        }
    }

    /// Whether the name can be joined to a local directory as one file
    /// name: not empty, not `.` or `..`, no `/`, `\` or NUL.
    pub fn has_safe_name(&self) -> bool {
        let name = self.name.as_ref();
        !name.is_empty()
            && name != b"."
            && name != b".."
            && !name.iter().any(|&b| b == b'/' || b == b'\\' || b == 0)
    }
}

/// One line of a listing, read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Line {
    /// An entry.
    Entry(Entry),
    /// A line that carries no entry: blank, `total N`, or an MLSD line for
    /// the listed directory itself or a parent (`cdir`, `pdir`).
    Skipped,
    /// A line no parser understood, kept as it was.
    Unparsed(Bytes),
}

/// A whole listing, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The entries, in listing order.
    pub entries: Vec<Entry>,
    /// Lines no parser understood.
    pub unparsed: Vec<Bytes>,
}

/// Which command produced a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListingFormat {
    /// LIST: Unix, DOS or EPLF lines, detected per line.
    List,
    /// MLSD: RFC 3659 fact lines.
    Mlsd,
    /// NLST: one name per line.
    Nlst,
}

/// Splits listing data into lines at LF, dropping a CR before it.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(move |_| !data.is_empty())
}

/// Reads a whole listing.
pub fn parse_listing(data: &[u8], format: ListingFormat, now: SystemTime) -> Listing {
    let mut listing = Listing::default();
    for line in lines(data) {
        let parsed = match format {
            ListingFormat::List => parse_list_line(line, now),
            ListingFormat::Mlsd => parse_mlsx_line(line),
            ListingFormat::Nlst if line.is_empty() => Line::Skipped,
            ListingFormat::Nlst => {
                Line::Entry(Entry::new(Bytes::copy_from_slice(line), EntryKind::Unknown))
            }
        };
        match parsed {
            Line::Entry(entry) => listing.entries.push(entry),
            Line::Skipped => {}
            Line::Unparsed(line) => listing.unparsed.push(line),
        }
    }
    listing
}

/// Reads one LIST line, whichever shape it has.
pub fn parse_list_line(line: &[u8], now: SystemTime) -> Line {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Line::Skipped;
    }
    if line.starts_with(b"total ")
        && line
            .get(6..)
            .is_some_and(|n| n.iter().all(|b| b.is_ascii_digit() || *b == b' '))
    {
        return Line::Skipped;
    }
    let parsed = match line.first() {
        Some(b'+') => parse_eplf(line),
        Some(b'0'..=b'9') => parse_dos(line),
        _ => parse_unix(line, now),
    };
    parsed.map_or_else(|| Line::Unparsed(Bytes::copy_from_slice(line)), Line::Entry)
}

/// A token of a line and where it starts and ends.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a [u8],
    end: usize,
}

fn tokens(line: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < line.len() {
        while line.get(at) == Some(&b' ') || line.get(at) == Some(&b'\t') {
            at += 1;
        }
        let start = at;
        while at < line.len() && line.get(at) != Some(&b' ') && line.get(at) != Some(&b'\t') {
            at += 1;
        }
        if let Some(text) = line.get(start..at).filter(|t| !t.is_empty()) {
            out.push(Token { text, end: at });
        }
    }
    out
}

fn number(text: &[u8]) -> Option<u64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn month(text: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let position = MONTHS.iter().position(|m| text.eq_ignore_ascii_case(m))?;
    u8::try_from(position + 1).ok()
}

/// `HH:MM` or `H:MM`.
fn clock(text: &[u8]) -> Option<(u8, u8)> {
    let (hour, minute) = text.split_at(text.iter().position(|&b| b == b':')?);
    let hour = u8::try_from(number(hour)?).ok().filter(|h| *h < 24)?;
    let minute = u8::try_from(number(minute.get(1..)?)?)
        .ok()
        .filter(|m| *m < 60)?;
    Some((hour, minute))
}

fn to_time(year: i64, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<SystemTime> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let t = UtcDateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    };
    Some(from_unix_seconds(t.to_unix()))
}

/// The date fields of a Unix line: where they end, and the time.
fn unix_date(tokens: &[Token<'_>], at: usize, now: SystemTime) -> Option<(usize, SystemTime)> {
    let first = tokens.get(at)?;
    // ISO: 2005-04-08 11:22
    if first.text.len() == 10
        && first.text.get(4) == Some(&b'-')
        && first.text.get(7) == Some(&b'-')
    {
        let year = number(first.text.get(..4)?)?;
        let month = u8::try_from(number(first.text.get(5..7)?)?).ok()?;
        let day = u8::try_from(number(first.text.get(8..10)?)?).ok()?;
        let (hour, minute) = clock(tokens.get(at + 1)?.text)?;
        return Some((
            at + 1,
            to_time(i64::try_from(year).ok()?, month, day, hour, minute, 0)?,
        ));
    }
    let month = month(first.text)?;
    let day = u8::try_from(number(tokens.get(at + 1)?.text)?).ok()?;
    let third = tokens.get(at + 2)?.text;
    if let Some((hour, minute)) = clock(third) {
        // No year: the most recent one that is not more than a day ahead.
        let this_year = UtcDateTime::from_system_time(now).year;
        let limit = unix_seconds(now) + 86_400;
        let mut time = to_time(this_year, month, day, hour, minute, 0)?;
        if unix_seconds(time) > limit {
            time = to_time(this_year - 1, month, day, hour, minute, 0)?;
        }
        return Some((at + 2, time));
    }
    if third.len() == 4 {
        let year = number(third)?;
        return Some((
            at + 2,
            to_time(i64::try_from(year).ok()?, month, day, 0, 0, 0)?,
        ));
    }
    None
}

/// `ls -l`: mode, links, owner, group, size, date, name (PROTOCOL.md §8.1).
fn parse_unix(line: &[u8], now: SystemTime) -> Option<Entry> {
    let type_char = *line.first()?;
    if !b"-dlbcpsD".contains(&type_char) {
        return None;
    }
    let bits = line.get(1..10)?;
    if !bits.iter().all(|b| b"rwxsStTlL-".contains(b)) {
        return None;
    }
    let tokens = tokens(line);
    // The mode may carry an ACL mark and the link count glued to it.
    let mode_token = tokens.first()?;
    let glued_links = mode_token.text.get(10..).map(|rest| {
        rest.strip_prefix(b"+")
            .or_else(|| rest.strip_prefix(b"@"))
            .or_else(|| rest.strip_prefix(b"."))
            .unwrap_or(rest)
    });
    // Find the date: the first place where a month, a day and a time or
    // year follow a size.
    let (date_at, date_end, modified) = (2..tokens.len()).find_map(|at| {
        let (end, time) = unix_date(&tokens, at, now)?;
        Some((at, end, time))
    })?;
    let name_start = tokens.get(date_end)?.end + 1;
    let rest = line.get(name_start..).filter(|n| !n.is_empty())?;

    let before_date = tokens.get(1..date_at)?;
    let (size, middle_end) = match before_date {
        // A device: "major, minor" or "major,minor".
        [.., major, minor] if major.text.ends_with(b",") && number(minor.text).is_some() => {
            (None, before_date.len() - 2)
        }
        [.., device] if device.text.contains(&b',') => (None, before_date.len() - 1),
        [.., size] => (Some(number(size.text)?), before_date.len() - 1),
        [] => return None,
    };
    let middle = before_date.get(..middle_end)?;
    let (links_present, owner_group) = match glued_links {
        Some(glued) if !glued.is_empty() => (number(glued).is_some(), middle),
        _ => match middle.split_first() {
            Some((links, rest)) if number(links.text).is_some() => (true, rest),
            _ => (false, middle),
        },
    };
    let _ = links_present;
    let text = |t: &Token<'_>| String::from_utf8_lossy(t.text).into_owned();
    let owner = owner_group.first().map(text);
    let group = owner_group
        .get(1..)
        .filter(|g| !g.is_empty())
        .map(|g| g.iter().map(text).collect::<Vec<_>>().join(" "));

    let (kind, name) = match type_char {
        b'd' | b'D' => (EntryKind::Directory, rest),
        b'l' => match find(rest, b" -> ") {
            Some(at) => (
                EntryKind::Symlink(rest.get(at + 4..).map(Bytes::copy_from_slice)),
                rest.get(..at)?,
            ),
            None => (EntryKind::Symlink(None), rest),
        },
        b'-' => (EntryKind::File, rest),
        _ => (EntryKind::Special, rest),
    };
    // `lrwx... Mar 09 08:15  -> target` names nothing: not an entry.
    if name.is_empty() {
        return None;
    }
    let mut entry = Entry::new(Bytes::copy_from_slice(name), kind);
    entry.size = size;
    entry.modified = Some(modified);
    entry.permissions = Some(String::from_utf8_lossy(bits).into_owned());
    entry.owner = owner;
    entry.group = group;
    Some(entry)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// DOS/IIS: `MM-DD-YY  HH:MMAM  <DIR>|size  name` (PROTOCOL.md §8.2).
fn parse_dos(line: &[u8]) -> Option<Entry> {
    let tokens = tokens(line);
    let date = tokens.first()?.text;
    let parts: Vec<&[u8]> = date.split(|&b| b == b'-').collect();
    let (year, month, day) = match parts.as_slice() {
        [y, m, d] if y.len() == 4 => (number(y)?, number(m)?, number(d)?),
        [m, d, y] if y.len() == 2 => {
            let y = number(y)?;
            (
                if y >= 70 { 1900 + y } else { 2000 + y },
                number(m)?,
                number(d)?,
            )
        }
        [m, d, y] if y.len() == 4 => (number(y)?, number(m)?, number(d)?),
        _ => return None,
    };
    let time_token = tokens.get(1)?.text;
    let (clock_part, pm) = if let Some(t) = time_token
        .strip_suffix(b"PM")
        .or_else(|| time_token.strip_suffix(b"pm"))
    {
        (t, Some(true))
    } else if let Some(t) = time_token
        .strip_suffix(b"AM")
        .or_else(|| time_token.strip_suffix(b"am"))
    {
        (t, Some(false))
    } else {
        (time_token, None)
    };
    let (mut hour, minute) = clock(clock_part)?;
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let third = tokens.get(2)?;
    let (kind, size, name_start) = if third.text.eq_ignore_ascii_case(b"<DIR>") {
        // The name follows the run of spaces after <DIR>.
        let start = third.end
            + line
                .get(third.end..)?
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
        (EntryKind::Directory, None, start)
    } else {
        let digits: Vec<u8> = third.text.iter().copied().filter(|&b| b != b',').collect();
        (EntryKind::File, Some(number(&digits)?), third.end + 1)
    };
    let name = line.get(name_start..).filter(|n| !n.is_empty())?;
    let mut entry = Entry::new(Bytes::copy_from_slice(name), kind);
    entry.size = size;
    entry.modified = to_time(
        i64::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
        hour,
        minute,
        0,
    );
    Some(entry)
}

/// EPLF: `+facts,<TAB>name` (PROTOCOL.md §8.3).
fn parse_eplf(line: &[u8]) -> Option<Entry> {
    let body = line.strip_prefix(b"+")?;
    let tab = body.iter().position(|&b| b == b'\t')?;
    let (facts, name) = (body.get(..tab)?, body.get(tab + 1..)?);
    if name.is_empty() {
        return None;
    }
    let mut entry = Entry::new(Bytes::copy_from_slice(name), EntryKind::Unknown);
    for fact in facts.split(|&b| b == b',').filter(|f| !f.is_empty()) {
        match fact.split_first()? {
            (b'/', _) => entry.kind = EntryKind::Directory,
            (b'r', _) if entry.kind == EntryKind::Unknown => entry.kind = EntryKind::File,
            (b's', size) => entry.size = number(size),
            (b'm', seconds) => {
                entry.modified = number(seconds)
                    .and_then(|s| i64::try_from(s).ok())
                    .map(from_unix_seconds);
            }
            (b'i', id) => entry.unique = Some(String::from_utf8_lossy(id).into_owned()),
            (b'u', rest) if rest.starts_with(b"p") => {
                entry.permissions = rest
                    .get(1..)
                    .map(|p| String::from_utf8_lossy(p).into_owned());
            }
            _ => {}
        }
    }
    Some(entry)
}

/// RFC 3659 `time-val`: `YYYYMMDDHHMMSS[.fff]`, UTC.
pub fn parse_time_val(text: &[u8]) -> Option<SystemTime> {
    let whole = text.split(|&b| b == b'.').next()?;
    if whole.len() != 14 || !whole.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let field = |range: std::ops::Range<usize>| whole.get(range).and_then(number);
    let seconds = u8::try_from(field(12..14)?).ok()?.min(59);
    to_time(
        i64::try_from(field(0..4)?).ok()?,
        u8::try_from(field(4..6)?).ok()?,
        u8::try_from(field(6..8)?).ok()?,
        u8::try_from(field(8..10)?).ok().filter(|h| *h < 24)?,
        u8::try_from(field(10..12)?).ok().filter(|m| *m < 60)?,
        seconds,
    )
}

/// One MLSD line, or the entry line of an MLST reply with its leading SP
/// removed (RFC 3659 §7.2): `fact=value;…` SP name.
pub fn parse_mlsx_line(line: &[u8]) -> Line {
    if line.is_empty() {
        return Line::Skipped;
    }
    let Some(space) = line.iter().position(|&b| b == b' ') else {
        return Line::Unparsed(Bytes::copy_from_slice(line));
    };
    let (facts, name) = (
        line.get(..space).unwrap_or_default(),
        line.get(space + 1..).unwrap_or_default(),
    );
    if name.is_empty() {
        return Line::Unparsed(Bytes::copy_from_slice(line));
    }
    let mut entry = Entry::new(Bytes::copy_from_slice(name), EntryKind::Unknown);
    for fact in facts.split(|&b| b == b';').filter(|f| !f.is_empty()) {
        let Some(eq) = fact.iter().position(|&b| b == b'=') else {
            return Line::Unparsed(Bytes::copy_from_slice(line));
        };
        let (key, value) = (
            fact.get(..eq).unwrap_or_default(),
            fact.get(eq + 1..).unwrap_or_default(),
        );
        let key = key.to_ascii_lowercase();
        match key.as_slice() {
            b"type" => {
                let lower = value.to_ascii_lowercase();
                entry.kind = match lower.as_slice() {
                    b"file" => EntryKind::File,
                    b"dir" => EntryKind::Directory,
                    b"cdir" | b"pdir" => return Line::Skipped,
                    other
                        if other.starts_with(b"os.unix=slink")
                            || other.starts_with(b"os.unix=symlink") =>
                    {
                        let target = value
                            .iter()
                            .position(|&b| b == b':')
                            .and_then(|c| value.get(c + 1..));
                        EntryKind::Symlink(
                            target.filter(|t| !t.is_empty()).map(Bytes::copy_from_slice),
                        )
                    }
                    other if other.starts_with(b"os.") => EntryKind::Special,
                    _ => EntryKind::Unknown,
                }
            }
            b"size" => entry.size = number(value),
            b"modify" => entry.modified = parse_time_val(value),
            b"perm" => entry.permissions = Some(String::from_utf8_lossy(value).into_owned()),
            b"unique" => entry.unique = Some(String::from_utf8_lossy(value).into_owned()),
            b"unix.owner" | b"unix.ownername" | b"unix.uid"
                if entry.owner.is_none() || key.as_slice() == b"unix.ownername" =>
            {
                entry.owner = Some(String::from_utf8_lossy(value).into_owned());
            }
            b"unix.group" | b"unix.groupname" | b"unix.gid"
                if entry.group.is_none() || key.as_slice() == b"unix.groupname" =>
            {
                entry.group = Some(String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
    }
    Line::Entry(entry)
}

#[cfg(test)]
mod tests;
