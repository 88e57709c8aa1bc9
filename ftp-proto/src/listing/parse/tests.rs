//! Real listing lines (PROTOCOL.md §8: vsftpd, ProFTPD, pure-ftpd,
//! pyftpdlib, IIS, and the commons-net and FileZilla test suites) and what
//! each must read as.

use super::*;

/// 2026-11-24 00:00 UTC.
fn now() -> SystemTime {
    from_unix_seconds(1_795_478_400)
}

fn date(year: i64, month: u8, day: u8, hour: u8, minute: u8) -> Option<SystemTime> {
    to_time(year, month, day, hour, minute, 0)
}

fn entry(line: &[u8]) -> Entry {
    match parse_list_line(line, now()) {
        Line::Entry(entry) => entry,
        other => panic!("{:?} read as {other:?}", String::from_utf8_lossy(line)),
    }
}

type Expected<'a> = (
    &'a str,
    &'a str,
    EntryKind,
    Option<u64>,
    Option<&'a str>,
    Option<&'a str>,
);

fn check(cases: &[Expected<'_>]) {
    for (line, name, kind, size, owner, group) in cases {
        let e = entry(line.as_bytes());
        assert_eq!(
            e.name,
            Bytes::copy_from_slice(name.as_bytes()),
            "name of {line:?}"
        );
        assert_eq!(&e.kind, kind, "kind of {line:?}");
        assert_eq!(e.size, *size, "size of {line:?}");
        assert_eq!(e.owner.as_deref(), *owner, "owner of {line:?}");
        assert_eq!(e.group.as_deref(), *group, "group of {line:?}");
        assert!(e.modified.is_some(), "date of {line:?}");
    }
}

fn link(target: &str) -> EntryKind {
    EntryKind::Symlink(Some(Bytes::copy_from_slice(target.as_bytes())))
}

#[test]
fn unix_lines() {
    use EntryKind::*;
    check(&[
        // vsftpd's layout.
        (
            "-rw-r--r--    1 1000     1000         4096 Nov 05 14:05 report.txt",
            "report.txt",
            File,
            Some(4096),
            Some("1000"),
            Some("1000"),
        ),
        (
            "drwxr-xr-x    2 1000     1000         4096 Jan 03  2021 archive",
            "archive",
            Directory,
            Some(4096),
            Some("1000"),
            Some("1000"),
        ),
        (
            "lrwxrwxrwx    1 1000     1000            7 Mar 09 08:15 latest -> v1.2.3/",
            "latest",
            link("v1.2.3/"),
            Some(7),
            Some("1000"),
            Some("1000"),
        ),
        // ProFTPD's layout.
        (
            "-rw-r--r--   1 ftp      ftp      123456789 Feb 29  2024 leap day.bin",
            "leap day.bin",
            File,
            Some(123_456_789),
            Some("ftp"),
            Some("ftp"),
        ),
        (
            "drwxr-xr-x   2 ftp      ftp          4096 Nov  5 14:05   leading spaces",
            "  leading spaces",
            Directory,
            Some(4096),
            Some("ftp"),
            Some("ftp"),
        ),
        (
            "-rw-r--r--   1 ftp      ftp             0 Dec 31 23:59 trailing space ",
            "trailing space ",
            File,
            Some(0),
            Some("ftp"),
            Some("ftp"),
        ),
        (
            "prw-r--r--   1 ftp      ftp             0 Jun  1 12:00 fifo",
            "fifo",
            Special,
            Some(0),
            Some("ftp"),
            Some("ftp"),
        ),
        // commons-net and FileZilla test lines.
        (
            "-rw-r--r--   1 root     root       111325 Apr 27  2001 zxJDBC-2.0.1b1.tar.gz",
            "zxJDBC-2.0.1b1.tar.gz",
            File,
            Some(111_325),
            Some("root"),
            Some("root"),
        ),
        (
            "lrwxrwxrwx   1 neeme neeme             23 Mar  2 18:06 macros -> ./../../global/macros/.",
            "macros",
            link("./../../global/macros/."),
            Some(23),
            Some("neeme"),
            Some("neeme"),
        ),
        (
            "-rw-r-----   1 neeme neeme   346 2005-04-08 11:22 services.vsp",
            "services.vsp",
            File,
            Some(346),
            Some("neeme"),
            Some("neeme"),
        ),
        (
            "crw-r----- 1 root kmem 0, 27 Jan 30 11:42 kmem",
            "kmem",
            Special,
            None,
            Some("root"),
            Some("kmem"),
        ),
        (
            "crw-------   1 root     sys      109,767 Jul  2  2004 pci@1c,600000:devctl",
            "pci@1c,600000:devctl",
            Special,
            None,
            Some("root"),
            Some("sys"),
        ),
        (
            "drwxrwx---+ 23 500     500    0 Jan 10 13:09 testACL",
            "testACL",
            Directory,
            Some(0),
            Some("500"),
            Some("500"),
        ),
        (
            "drwxr-x---+1464 chrism   chrism     41472 Feb 25 13:17 20090225",
            "20090225",
            Directory,
            Some(41472),
            Some("chrism"),
            Some("chrism"),
        ),
        (
            "-rwSr-Sr--   1 500      500             0 Mar 25 08:22 testSuid",
            "testSuid",
            File,
            Some(0),
            Some("500"),
            Some("500"),
        ),
        (
            "-rw-r--r-T   1 500      500             0 Mar 25 08:20 testSticky",
            "testSticky",
            File,
            Some(0),
            Some("500"),
            Some("500"),
        ),
        (
            "-r-xr-xr-x   2 root                  512 Apr  8  1994 unix nogroup",
            "unix nogroup",
            File,
            Some(512),
            Some("root"),
            None,
        ),
        (
            "-rw-r--r--   1 1        3518644 May 25 12:12 std",
            "std",
            File,
            Some(3_518_644),
            Some("1"),
            None,
        ),
        (
            "drwx------ 4 maxm Domain Users 512 Oct 2 10:59 .metadata",
            ".metadata",
            Directory,
            Some(512),
            Some("maxm"),
            Some("Domain Users"),
        ),
        (
            "-rwxrwx---   1 ftp      ftp-admin 816026400 Oct  5  2008 bloplab 7 cd1.img",
            "bloplab 7 cd1.img",
            File,
            Some(816_026_400),
            Some("ftp"),
            Some("ftp-admin"),
        ),
        (
            "-rw-r--r--   1 ftpuser  ftpusers 12414535 Mar 17 11:07 test 1999 abc.pdf",
            "test 1999 abc.pdf",
            File,
            Some(12_414_535),
            Some("ftpuser"),
            Some("ftpusers"),
        ),
        (
            "-rwxr-xr-x   2 user     my group 500        5000000000 Mar  2 15:13 zxbox",
            "zxbox",
            File,
            Some(5_000_000_000),
            Some("user"),
            Some("my group 500"),
        ),
        // IIS in Unix mode: no link count owner/group digits.
        (
            "----------   1 owner    group         1803128 Jul 10 10:18 ls-lR.Z",
            "ls-lR.Z",
            File,
            Some(1_803_128),
            Some("owner"),
            Some("group"),
        ),
        (
            "d---------   1 owner    group               0 May  9 19:45 Softlib",
            "Softlib",
            Directory,
            Some(0),
            Some("owner"),
            Some("group"),
        ),
        // A name with " -> " that is not a link, a name with a date in it.
        (
            "-rw-r--r--   1 ftp      ftp             3 Nov 20 10:00 a -> b",
            "a -> b",
            File,
            Some(3),
            Some("ftp"),
            Some("ftp"),
        ),
        (
            "-rw-r--r--   1 ftp      ftp             3 Nov 20 10:00 Jan 1 2000 backup",
            "Jan 1 2000 backup",
            File,
            Some(3),
            Some("ftp"),
            Some("ftp"),
        ),
        // pure-ftpd 1.0.50 and pyftpdlib 2.2.
        (
            "-rw-r--r--    1 1000       1000               5 Nov 24 01:30 a.txt",
            "a.txt",
            File,
            Some(5),
            Some("1000"),
            Some("1000"),
        ),
        (
            "drwxr-xr-x    2 1000       1000            4096 Nov 24 01:30 pub",
            "pub",
            Directory,
            Some(4096),
            Some("1000"),
            Some("1000"),
        ),
        (
            "-rw-r--r--   1 root     root            5 Nov 24 01:30 a.txt",
            "a.txt",
            File,
            Some(5),
            Some("root"),
            Some("root"),
        ),
        (
            "lrwxrwxrwx   1 root     root           13 Nov 24 01:30 link -> /etc/passwd",
            "link",
            link("/etc/passwd"),
            Some(13),
            Some("root"),
            Some("root"),
        ),
        // Our own server.
        (
            "-rw-r--r--    1 ftp      ftp      10000000 Nov 24 01:30 big.bin",
            "big.bin",
            File,
            Some(10_000_000),
            Some("ftp"),
            Some("ftp"),
        ),
        (
            "drwxr-xr-x    2 ftp      ftp          4096 Nov 24 01:30 pub",
            "pub",
            Directory,
            Some(4096),
            Some("ftp"),
            Some("ftp"),
        ),
    ]);
}

#[test]
fn unix_dates_and_years() {
    // Recent: this year; in the future by more than a day: last year.
    assert_eq!(
        entry(b"-rw-r--r--    1 1000     1000         4096 Nov 05 14:05 r").modified,
        date(2026, 11, 5, 14, 5)
    );
    assert_eq!(
        entry(b"-rw-r--r--   1 ftp      ftp             0 Dec 31 23:59 t").modified,
        date(2025, 12, 31, 23, 59)
    );
    assert_eq!(
        entry(b"-rw-r--r--   1 ftp      ftp             0 Nov 24 23:00 skew").modified,
        date(2026, 11, 24, 23, 0)
    );
    assert_eq!(
        entry(b"drwxr-xr-x    2 1000     1000         4096 Jan 03  2021 a").modified,
        date(2021, 1, 3, 0, 0)
    );
    assert_eq!(
        entry(b"-rw-r-----   1 neeme neeme   346 2005-04-08 11:22 s").modified,
        date(2005, 4, 8, 11, 22)
    );
    assert_eq!(
        entry(b"-rw-r--r--   1 ftp      ftp      123456789 Feb 29  2024 leap").modified,
        date(2024, 2, 29, 0, 0)
    );
    assert_eq!(
        entry(b"-rw-r--r--    1 1000     1000         4096 Nov 05 14:05 r")
            .permissions
            .as_deref(),
        Some("rw-r--r--")
    );
}

#[test]
fn dos_lines() {
    use EntryKind::*;
    type Dos<'a> = (&'a str, &'a str, EntryKind, Option<u64>, Option<SystemTime>);
    let cases: &[Dos<'_>] = &[
        (
            "04-27-00  12:09PM       <DIR>          DOS dir 1",
            "DOS dir 1",
            Directory,
            None,
            date(2000, 4, 27, 12, 9),
        ),
        (
            "04-14-00  03:47PM                  589 DOS file 1",
            "DOS file 1",
            File,
            Some(589),
            date(2000, 4, 14, 15, 47),
        ),
        (
            "05-26-95  10:57AM               143712 $LDR$",
            "$LDR$",
            File,
            Some(143_712),
            date(1995, 5, 26, 10, 57),
        ),
        (
            "12-05-96  05:03PM       <DIR>          absoft2",
            "absoft2",
            Directory,
            None,
            date(1996, 12, 5, 17, 3),
        ),
        (
            "12-03-96  06:38AM       <DIR>          123xyz",
            "123xyz",
            Directory,
            None,
            date(1996, 12, 3, 6, 38),
        ),
        (
            "11-14-97  04:21PM                  953 AUDITOR3.INI",
            "AUDITOR3.INI",
            File,
            Some(953),
            date(1997, 11, 14, 16, 21),
        ),
        (
            "05-26-1995  10:57AM               143712 $LDR$",
            "$LDR$",
            File,
            Some(143_712),
            date(1995, 5, 26, 10, 57),
        ),
        (
            "12-05-96  17:03         <DIR>          absoft2",
            "absoft2",
            Directory,
            None,
            date(1996, 12, 5, 17, 3),
        ),
        (
            "09-13-10  13:08                   23 Control Panel.lnk",
            "Control Panel.lnk",
            File,
            Some(23),
            date(2010, 9, 13, 13, 8),
        ),
        (
            "09-13-10  13:08       <DIR>          My Documents",
            "My Documents",
            Directory,
            None,
            date(2010, 9, 13, 13, 8),
        ),
        (
            "05-22-97  12:08AM                  5000000000 10 years and under",
            "10 years and under",
            File,
            Some(5_000_000_000),
            date(1997, 5, 22, 0, 8),
        ),
        (
            "12-03-96  06:38PM       <DIR>           10 years and under",
            "10 years and under",
            Directory,
            None,
            date(1996, 12, 3, 18, 38),
        ),
        (
            "2002-09-02  18:48       <DIR>          DOS dir 2",
            "DOS dir 2",
            Directory,
            None,
            date(2002, 9, 2, 18, 48),
        ),
        (
            "2002-09-02  19:06                9,730 DOS file 2",
            "DOS file 2",
            File,
            Some(9730),
            date(2002, 9, 2, 19, 6),
        ),
        // ProFTPD's Windows style.
        (
            "11-24-26  01:30AM                    5 a.txt",
            "a.txt",
            File,
            Some(5),
            date(2026, 11, 24, 1, 30),
        ),
    ];
    for (line, name, kind, size, modified) in cases {
        let e = entry(line.as_bytes());
        assert_eq!(
            (e.name.as_ref(), &e.kind, e.size, e.modified),
            (name.as_bytes(), kind, *size, *modified),
            "{line:?}"
        );
    }
}

#[test]
fn eplf_lines() {
    let cases: &[(&[u8], &str, EntryKind, Option<u64>)] = &[
        (
            b"+i8388621.48594,m825718503,r,s280,\tdjb.html",
            "djb.html",
            EntryKind::File,
            Some(280),
        ),
        (
            b"+i8388621.50690,m824255907,/,\t514",
            "514",
            EntryKind::Directory,
            None,
        ),
        (
            b"+i8388621.48598,m824253270,r,s612,\t514.html",
            "514.html",
            EntryKind::File,
            Some(612),
        ),
        (
            b"+i8388621.29609,m824255902,/,\tdev",
            "dev",
            EntryKind::Directory,
            None,
        ),
        (
            b"+i8388621.44468,m839956783,r,s10376,\tRFCEPLF",
            "RFCEPLF",
            EntryKind::File,
            Some(10376),
        ),
        (
            b"+i8388621.48594,m825718503,r,s280,up755\t14-eplf file",
            "14-eplf file",
            EntryKind::File,
            Some(280),
        ),
        (
            b"+m825718503,r,s0,\tempty file",
            "empty file",
            EntryKind::File,
            Some(0),
        ),
        (
            b"+/,\tdir with  two spaces",
            "dir with  two spaces",
            EntryKind::Directory,
            None,
        ),
        (
            b"+r,s280,Xfuture,\tunknown fact ignored",
            "unknown fact ignored",
            EntryKind::File,
            Some(280),
        ),
    ];
    for (line, name, kind, size) in cases {
        let e = entry(line);
        assert_eq!(
            (e.name.as_ref(), &e.kind, e.size),
            (name.as_bytes(), kind, *size),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    let e = entry(b"+i8388621.48594,m825718503,r,s280,up755\t14-eplf file");
    assert_eq!(e.modified, Some(from_unix_seconds(825_718_503)));
    assert_eq!(e.unique.as_deref(), Some("8388621.48594"));
    assert_eq!(e.permissions.as_deref(), Some("755"));
    // No TAB: not an entry.
    assert!(matches!(
        parse_list_line(b"+i8388621.48594,m825718503,r,s280,", now()),
        Line::Unparsed(_)
    ));
}

#[test]
fn mlsx_lines() {
    let cases: &[(&[u8], &str, EntryKind, Option<u64>)] = &[
        // RFC 3659 §7 examples (PROTOCOL.md §6.4).
        (b"type=file;size=4096;modify=20261123140500;perm=adfrw;unique=801U1A; report.txt", "report.txt", EntryKind::File, Some(4096)),
        (b"type=dir;modify=20210103090000;perm=flcdmpe; archive", "archive", EntryKind::Directory, None),
        // Our server, pure-ftpd, pyftpdlib, ProFTPD.
        (b"type=file;size=5;modify=20261118100640;perm=adfrw;unique=AB8D846368AA6BCC;UNIX.mode=0644; a.txt", "a.txt", EntryKind::File, Some(5)),
        (b"type=file;size=5;modify=20261124013000;UNIX.mode=0644;UNIX.uid=1000;UNIX.gid=1000;unique=803g1a2; a.txt", "a.txt", EntryKind::File, Some(5)),
        (b"type=file;size=5;perm=r;modify=20261124013000;unix.mode=0644;unix.uid=0;unix.gid=0;unique=803g1a2; a b.txt", "a b.txt", EntryKind::File, Some(5)),
        (b"modify=20261124013000;perm=flcdmpe;type=dir;unique=FD00U1E;UNIX.group=0;UNIX.mode=0755;UNIX.owner=0; pub", "pub", EntryKind::Directory, None),
        (b"modify=20261124013000;perm=adfr;size=11;type=OS.unix=slink:/etc/passwd;unique=FD00U20;UNIX.group=0;UNIX.mode=0777;UNIX.owner=0; link", "link", EntryKind::Symlink(Some(Bytes::from_static(b"/etc/passwd"))), Some(11)),
        (b" no facts", "no facts", EntryKind::Unknown, None),
        (b"type=file;size=1; semi;colon name ", "semi;colon name ", EntryKind::File, Some(1)),
    ];
    for (line, name, kind, size) in cases {
        let Line::Entry(e) = parse_mlsx_line(line) else {
            panic!("{:?}", String::from_utf8_lossy(line))
        };
        assert_eq!(
            (e.name.as_ref(), &e.kind, e.size),
            (name.as_bytes(), kind, *size),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    let Line::Entry(e) = parse_mlsx_line(b"type=file;size=4096;modify=20261123140500.014;perm=adfrw;unique=801U1A;UNIX.owner=0;UNIX.ownername=root; report.txt") else { panic!() };
    assert_eq!(
        e.modified,
        date(2026, 11, 23, 14, 5).map(|t| t + std::time::Duration::from_secs(0))
    );
    assert_eq!(e.permissions.as_deref(), Some("adfrw"));
    assert_eq!(e.unique.as_deref(), Some("801U1A"));
    assert_eq!(e.owner.as_deref(), Some("root"));
    assert_eq!(
        parse_mlsx_line(b"type=cdir;modify=20261123140500;perm=flcdmpe; /pub"),
        Line::Skipped
    );
    assert_eq!(parse_mlsx_line(b"type=pdir;perm=el; /"), Line::Skipped);
    assert!(matches!(
        parse_mlsx_line(b"nofacts-and-no-space"),
        Line::Unparsed(_)
    ));
    assert!(matches!(
        parse_mlsx_line(b"type file; x"),
        Line::Unparsed(_)
    ));
}

#[test]
fn time_vals() {
    assert_eq!(
        parse_time_val(b"19980615100045.014"),
        date(1998, 6, 15, 10, 0).map(|t| t + std::time::Duration::from_secs(45))
    );
    assert_eq!(parse_time_val(b"20261124013000"), date(2026, 11, 24, 1, 30));
    for bad in [
        &b"2026112401300"[..],
        b"202611240130000",
        b"20261324013000",
        b"2026112401300x",
        b"",
    ] {
        assert_eq!(
            parse_time_val(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn whole_listings_keep_what_they_cannot_read() {
    let data = b"total 24\r\n-rw-r--r--    1 ftp      ftp             5 Nov 24 01:30 a.txt\r\n\r\nsomething odd\r\ndrwxr-xr-x    2 ftp      ftp          4096 Nov 24 01:30 pub\n";
    let listing = parse_listing(data, ListingFormat::List, now());
    let names: Vec<&[u8]> = listing.entries.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, [&b"a.txt"[..], b"pub"]);
    assert_eq!(listing.unparsed, [Bytes::from_static(b"something odd")]);
    let nlst = parse_listing(b"a.txt\r\npub/x\r\n", ListingFormat::Nlst, now());
    assert_eq!(nlst.entries.len(), 2);
    assert!(
        parse_listing(b"", ListingFormat::List, now())
            .entries
            .is_empty()
    );
    let mlsd = parse_listing(
        b"type=cdir; .\r\ntype=file;size=1; f\r\n",
        ListingFormat::Mlsd,
        now(),
    );
    assert_eq!(mlsd.entries.len(), 1);
}

/// A symlink line with nothing before ` -> ` names no entry: kept as
/// unparsed, never an entry with an empty name (found by fuzzing).
#[test]
fn a_symlink_without_a_name_is_not_an_entry() {
    let line = b"lrwxrwxrwx    1 ftp      ftp             7 Mar 09 08:15  -> target";
    let listing = parse_listing(line, ListingFormat::List, now());
    assert!(listing.entries.is_empty(), "{:?}", listing.entries);
    assert_eq!(listing.unparsed.len(), 1);
}

#[test]
fn names_are_bytes() {
    let e = entry(b"-rw-r--r--    1 ftp      ftp             5 Nov 24 01:30 caf\xe9 \xff");
    assert_eq!(e.name.as_ref(), b"caf\xe9 \xff");
}

/// A hostile listing must not lead a client out of its target directory
/// (another FTP client fell for this: CVE-2026-27699).
#[test]
fn unsafe_names_are_marked() {
    for name in [
        &b"../../.bashrc"[..],
        b"..",
        b".",
        b"a/b",
        b"/etc/passwd",
        b"..\\..\\x",
        b"",
    ] {
        let e = Entry::new(Bytes::copy_from_slice(name), EntryKind::File);
        assert!(!e.has_safe_name(), "{:?}", String::from_utf8_lossy(name));
    }
    for name in [&b"a.txt"[..], b"..hidden", b"...", b" spaced "] {
        assert!(Entry::new(Bytes::copy_from_slice(name), EntryKind::File).has_safe_name());
    }
    let e = entry(
        b"-rw-r--r--    1 ftp      ftp             5 Nov 24 01:30 ../../.ssh/authorized_keys",
    );
    assert!(!e.has_safe_name());
}

#[test]
fn lines_nobody_understands_are_unparsed() {
    for line in [
        &b"hello world"[..],
        b"-rw-r--r--",
        b"drwxr-xr-x 2 a b c d e",
        b"12-34",
        b"-rw-r--r-- 1 a b 5 Foo 24 01:30 x",
    ] {
        assert!(
            matches!(parse_list_line(line, now()), Line::Unparsed(_)),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

use proptest::prelude::Strategy as _;

proptest::proptest! {
    #[test]
    fn arbitrary_lines_never_panic(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
        let _ = parse_list_line(&line, now());
        let _ = parse_mlsx_line(&line);
        let _ = parse_listing(&line, ListingFormat::List, now());
    }

    #[test]
    fn unix_like_lines_never_panic(
        mode in "[-dlbcps][rwxsStT-]{9}[+@.]?",
        rest in proptest::collection::vec(proptest::prelude::prop_oneof![
            proptest::prelude::Just(" ".to_string()), "[0-9]{1,12}".prop_map(String::from), "(Jan|Feb|Nov|Dec)".prop_map(String::from),
            "[0-9]{1,2}:[0-9]{2}".prop_map(String::from), "[a-z]{1,5}".prop_map(String::from), proptest::prelude::Just(" -> ".to_string()),
        ], 0..14),
    ) {
        let line = format!("{mode}{}", rest.concat());
        let _ = parse_list_line(line.as_bytes(), now());
    }
}
