use super::*;

fn parse(line: &str) -> Result<Command, CommandError> {
    Command::parse_slice(line.as_bytes())
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// One example of every command in PROTOCOL.md §3.1, with the command it
/// parses to and the canonical wire form it serializes to.
fn examples() -> Vec<(&'static str, Command, &'static str)> {
    use Command as C;
    vec![
        ("USER anonymous", C::User(b("anonymous")), "USER anonymous"),
        (
            "PASS ftp@example.com",
            C::Pass(Password(b("ftp@example.com"))),
            "PASS ftp@example.com",
        ),
        ("PASS", C::Pass(Password(Bytes::new())), "PASS"),
        ("ACCT dept42", C::Acct(b("dept42")), "ACCT dept42"),
        ("CWD /pub/linux", C::Cwd(b("/pub/linux")), "CWD /pub/linux"),
        ("XCWD pub", C::Xcwd(b("pub")), "XCWD pub"),
        ("CDUP", C::Cdup, "CDUP"),
        ("XCUP", C::Xcup, "XCUP"),
        ("SMNT /mnt", C::Smnt(b("/mnt")), "SMNT /mnt"),
        ("REIN", C::Rein, "REIN"),
        ("QUIT", C::Quit, "QUIT"),
        (
            "PORT 192,168,1,2,7,138",
            C::Port("192.168.1.2:1930".parse().unwrap()),
            "PORT 192,168,1,2,7,138",
        ),
        ("PASV", C::Pasv, "PASV"),
        (
            "EPRT |1|132.235.1.2|6275|",
            C::Eprt("132.235.1.2:6275".parse().unwrap()),
            "EPRT |1|132.235.1.2|6275|",
        ),
        (
            "EPRT |2|1080::8:800:200C:417A|5282|",
            C::Eprt("[1080::8:800:200c:417a]:5282".parse().unwrap()),
            "EPRT |2|1080::8:800:200c:417a|5282|",
        ),
        ("EPSV", C::Epsv(None), "EPSV"),
        ("EPSV 1", C::Epsv(Some(EpsvArgument::Protocol(1))), "EPSV 1"),
        ("EPSV 2", C::Epsv(Some(EpsvArgument::Protocol(2))), "EPSV 2"),
        ("EPSV ALL", C::Epsv(Some(EpsvArgument::All)), "EPSV ALL"),
        ("TYPE A", C::Type(TransferType::Ascii(None)), "TYPE A"),
        (
            "TYPE A N",
            C::Type(TransferType::Ascii(Some(TextFormat::NonPrint))),
            "TYPE A N",
        ),
        (
            "TYPE A T",
            C::Type(TransferType::Ascii(Some(TextFormat::Telnet))),
            "TYPE A T",
        ),
        (
            "TYPE A C",
            C::Type(TransferType::Ascii(Some(TextFormat::CarriageControl))),
            "TYPE A C",
        ),
        ("TYPE E", C::Type(TransferType::Ebcdic(None)), "TYPE E"),
        (
            "TYPE E N",
            C::Type(TransferType::Ebcdic(Some(TextFormat::NonPrint))),
            "TYPE E N",
        ),
        ("TYPE I", C::Type(TransferType::Image), "TYPE I"),
        ("TYPE L 8", C::Type(TransferType::Local(8)), "TYPE L 8"),
        ("TYPE L 36", C::Type(TransferType::Local(36)), "TYPE L 36"),
        ("STRU F", C::Stru(FileStructure::File), "STRU F"),
        ("STRU R", C::Stru(FileStructure::Record), "STRU R"),
        ("STRU P", C::Stru(FileStructure::Page), "STRU P"),
        ("MODE S", C::Mode(TransferMode::Stream), "MODE S"),
        ("MODE B", C::Mode(TransferMode::Block), "MODE B"),
        ("MODE C", C::Mode(TransferMode::Compressed), "MODE C"),
        (
            "ALLO 1024",
            C::Allo {
                size: 1024,
                record_size: None,
            },
            "ALLO 1024",
        ),
        (
            "ALLO 1024 R 128",
            C::Allo {
                size: 1024,
                record_size: Some(128),
            },
            "ALLO 1024 R 128",
        ),
        ("REST 0", C::Rest(0), "REST 0"),
        (
            "REST 18446744073709551615",
            C::Rest(u64::MAX),
            "REST 18446744073709551615",
        ),
        (
            "RETR report.txt",
            C::Retr(b("report.txt")),
            "RETR report.txt",
        ),
        (
            "STOR upload.bin",
            C::Stor(b("upload.bin")),
            "STOR upload.bin",
        ),
        ("STOU", C::Stou(None), "STOU"),
        ("STOU base", C::Stou(Some(b("base"))), "STOU base"),
        ("APPE log.txt", C::Appe(b("log.txt")), "APPE log.txt"),
        ("RNFR old", C::Rnfr(b("old")), "RNFR old"),
        ("RNTO new", C::Rnto(b("new")), "RNTO new"),
        ("ABOR", C::Abor, "ABOR"),
        ("DELE junk", C::Dele(b("junk")), "DELE junk"),
        ("RMD dir", C::Rmd(b("dir")), "RMD dir"),
        ("XRMD dir", C::Xrmd(b("dir")), "XRMD dir"),
        ("MKD foo\"bar", C::Mkd(b("foo\"bar")), "MKD foo\"bar"),
        ("XMKD dir", C::Xmkd(b("dir")), "XMKD dir"),
        ("PWD", C::Pwd, "PWD"),
        ("XPWD", C::Xpwd, "XPWD"),
        ("LIST", C::List(None), "LIST"),
        ("LIST -la", C::List(Some(b("-la"))), "LIST -la"),
        (
            "LIST -la /pub",
            C::List(Some(b("-la /pub"))),
            "LIST -la /pub",
        ),
        ("NLST", C::Nlst(None), "NLST"),
        ("NLST pub", C::Nlst(Some(b("pub"))), "NLST pub"),
        (
            "SITE CHMOD 644 x",
            C::Site(b("CHMOD 644 x")),
            "SITE CHMOD 644 x",
        ),
        ("SYST", C::Syst, "SYST"),
        ("STAT", C::Stat(None), "STAT"),
        ("STAT /pub", C::Stat(Some(b("/pub"))), "STAT /pub"),
        ("HELP", C::Help(None), "HELP"),
        ("HELP SITE", C::Help(Some(b("SITE"))), "HELP SITE"),
        ("NOOP", C::Noop, "NOOP"),
        ("FEAT", C::Feat, "FEAT"),
        (
            "OPTS UTF8 ON",
            C::Opts {
                command: b("UTF8"),
                options: Some(b("ON")),
            },
            "OPTS UTF8 ON",
        ),
        (
            "OPTS MLST type;size;modify;",
            C::Opts {
                command: b("MLST"),
                options: Some(b("type;size;modify;")),
            },
            "OPTS MLST type;size;modify;",
        ),
        (
            "OPTS MLST",
            C::Opts {
                command: b("MLST"),
                options: None,
            },
            "OPTS MLST",
        ),
        ("SIZE big.iso", C::Size(b("big.iso")), "SIZE big.iso"),
        (
            "MDTM 19990929043300 File6",
            C::Mdtm(b("19990929043300 File6")),
            "MDTM 19990929043300 File6",
        ),
        (
            "MFMT 20200102030405 a file.txt",
            C::Mfmt(b("20200102030405 a file.txt")),
            "MFMT 20200102030405 a file.txt",
        ),
        (
            "HASH a file.txt",
            C::Hash(b("a file.txt")),
            "HASH a file.txt",
        ),
        ("RANG 10 19", C::Rang { start: 10, end: 19 }, "RANG 10 19"),
        ("rang 1 0", C::Rang { start: 1, end: 0 }, "RANG 1 0"),
        ("MLST", C::Mlst(None), "MLST"),
        (
            "MLST report.txt",
            C::Mlst(Some(b("report.txt"))),
            "MLST report.txt",
        ),
        ("MLSD", C::Mlsd(None), "MLSD"),
        ("MLSD /pub", C::Mlsd(Some(b("/pub"))), "MLSD /pub"),
        ("AUTH TLS", C::Auth(AuthMechanism::Tls), "AUTH TLS"),
        ("AUTH TLS-C", C::Auth(AuthMechanism::TlsC), "AUTH TLS-C"),
        ("AUTH TLS-P", C::Auth(AuthMechanism::TlsP), "AUTH TLS-P"),
        ("AUTH SSL", C::Auth(AuthMechanism::Ssl), "AUTH SSL"),
        (
            "AUTH GSSAPI",
            C::Auth(AuthMechanism::Other(b("GSSAPI"))),
            "AUTH GSSAPI",
        ),
        ("ADAT aGVsbG8=", C::Adat(b("aGVsbG8=")), "ADAT aGVsbG8="),
        ("PBSZ 0", C::Pbsz(0), "PBSZ 0"),
        ("PROT C", C::Prot(ProtectionLevel::Clear), "PROT C"),
        ("PROT S", C::Prot(ProtectionLevel::Safe), "PROT S"),
        ("PROT E", C::Prot(ProtectionLevel::Confidential), "PROT E"),
        ("PROT P", C::Prot(ProtectionLevel::Private), "PROT P"),
        ("CCC", C::Ccc, "CCC"),
        ("MIC aGVsbG8=", C::Mic(b("aGVsbG8=")), "MIC aGVsbG8="),
        ("CONF aGVsbG8=", C::Conf(b("aGVsbG8=")), "CONF aGVsbG8="),
        ("ENC aGVsbG8=", C::Enc(b("aGVsbG8=")), "ENC aGVsbG8="),
        (
            "HOST ftp.example.com",
            C::Host(HostName::Domain("ftp.example.com".into())),
            "HOST ftp.example.com",
        ),
        (
            "HOST 192.0.2.1",
            C::Host(HostName::Ipv4("192.0.2.1".parse().unwrap())),
            "HOST 192.0.2.1",
        ),
        (
            "HOST [2001:db8::1]",
            C::Host(HostName::Ipv6("2001:db8::1".parse().unwrap())),
            "HOST [2001:db8::1]",
        ),
        ("LANG", C::Lang(None), "LANG"),
        ("LANG fr", C::Lang(Some("fr".into())), "LANG fr"),
        ("LANG en-US", C::Lang(Some("en-US".into())), "LANG en-US"),
    ]
}

#[test]
fn every_command_parses_and_serializes() {
    for (line, command, wire) in examples() {
        assert_eq!(parse(line), Ok(command.clone()), "parsing {line:?}");
        assert_eq!(
            command.to_bytes().unwrap(),
            Bytes::from(format!("{wire}\r\n")),
            "serializing {command:?}"
        );
        assert_eq!(parse(wire), Ok(command), "re-parsing {wire:?}");
    }
}

#[test]
fn every_verb_has_an_example() {
    let covered: Vec<Verb> = examples().iter().map(|(_, c, _)| c.verb()).collect();
    for verb in Verb::ALL {
        assert!(covered.contains(verb), "no example for {verb}");
        assert_eq!(Verb::from_bytes(verb.as_str().as_bytes()), Some(*verb));
    }
}

#[test]
fn verbs_and_letter_arguments_are_case_insensitive() {
    assert_eq!(parse("user bob"), Ok(Command::User(b("bob"))));
    assert_eq!(parse("type a n"), parse("TYPE A N"));
    assert_eq!(parse("Type i"), Ok(Command::Type(TransferType::Image)));
    assert_eq!(
        parse("epsv all"),
        Ok(Command::Epsv(Some(EpsvArgument::All)))
    );
    assert_eq!(parse("prot p"), Ok(Command::Prot(ProtectionLevel::Private)));
    assert_eq!(parse("auth tls"), Ok(Command::Auth(AuthMechanism::Tls)));
    assert_eq!(
        parse("allo 10 r 2"),
        Ok(Command::Allo {
            size: 10,
            record_size: Some(2)
        })
    );
    assert_eq!(parse("xMkD d"), Ok(Command::Xmkd(b("d"))));
}

#[test]
fn exactly_one_space_separates_verb_and_pathname() {
    // RFC 2640 §3.1, RFC 3659 §2.2: further spaces belong to the pathname.
    assert_eq!(parse("STOR   x"), Ok(Command::Stor(b("  x"))));
    assert_eq!(parse("RETR trailing "), Ok(Command::Retr(b("trailing "))));
    assert_eq!(parse("CWD  "), Ok(Command::Cwd(b(" "))));
    assert_eq!(
        Command::Stor(b("  x")).to_bytes().unwrap(),
        Bytes::from_static(b"STOR   x\r\n")
    );
}

#[test]
fn typed_arguments_tolerate_surrounding_spaces() {
    assert_eq!(parse("REST  100 "), Ok(Command::Rest(100)));
    assert_eq!(parse("TYPE  I"), Ok(Command::Type(TransferType::Image)));
    assert_eq!(
        parse("PORT 127,0,0,1,4,1 "),
        Ok(Command::Port("127.0.0.1:1025".parse().unwrap()))
    );
    assert_eq!(parse("PASV "), Ok(Command::Pasv));
    assert_eq!(parse("TYPE L8"), Ok(Command::Type(TransferType::Local(8))));
}

#[test]
fn pathnames_are_bytes() {
    let line = b"RETR caf\xe9 \xff.txt";
    assert_eq!(
        Command::parse_slice(line),
        Ok(Command::Retr(Bytes::from_static(b"caf\xe9 \xff.txt")))
    );
    // 0xFF is doubled on the wire (Telnet IAC).
    assert_eq!(
        Command::Retr(Bytes::from_static(b"a\xffb"))
            .to_bytes()
            .unwrap(),
        Bytes::from_static(b"RETR a\xff\xffb\r\n")
    );
}

#[test]
fn error_kinds_map_to_reply_codes() {
    let cases: Vec<(&str, CommandError, u16)> = vec![
        ("", CommandError::Empty, 500),
        ("FOO bar", CommandError::Unknown(b("FOO")), 500),
        ("RETRIEVE x", CommandError::Unknown(b("RETRIEVE")), 500),
        (" USER x", CommandError::Unknown(Bytes::new()), 500),
        ("US3R x", CommandError::Unknown(b("US3R")), 500),
        ("RETR", CommandError::MissingArgument(Verb::Retr), 501),
        ("RETR ", CommandError::MissingArgument(Verb::Retr), 501),
        ("USER", CommandError::MissingArgument(Verb::User), 501),
        ("PORT", CommandError::MissingArgument(Verb::Port), 501),
        ("TYPE", CommandError::MissingArgument(Verb::Type), 501),
        ("PWD x", CommandError::UnexpectedArgument(Verb::Pwd), 501),
        (
            "QUIT now",
            CommandError::UnexpectedArgument(Verb::Quit),
            501,
        ),
        (
            "PORT 1,2,3,4,5",
            CommandError::InvalidArgument(Verb::Port),
            501,
        ),
        (
            "PORT 1,2,3,4,5,256",
            CommandError::InvalidArgument(Verb::Port),
            501,
        ),
        ("REST -1", CommandError::InvalidArgument(Verb::Rest), 501),
        (
            "REST 18446744073709551616",
            CommandError::InvalidArgument(Verb::Rest),
            501,
        ),
        ("REST 10x", CommandError::InvalidArgument(Verb::Rest), 501),
        ("RANG 10", CommandError::InvalidArgument(Verb::Rang), 501),
        ("RANG 10 x", CommandError::InvalidArgument(Verb::Rang), 501),
        ("RANG", CommandError::MissingArgument(Verb::Rang), 501),
        ("HASH", CommandError::MissingArgument(Verb::Hash), 501),
        (
            "PBSZ 4294967296",
            CommandError::InvalidArgument(Verb::Pbsz),
            501,
        ),
        ("TYPE L 0", CommandError::InvalidArgument(Verb::Type), 501),
        ("TYPE L", CommandError::InvalidArgument(Verb::Type), 501),
        ("TYPE A X", CommandError::InvalidArgument(Verb::Type), 501),
        ("TYPE II", CommandError::InvalidArgument(Verb::Type), 501),
        (
            "TYPE Z",
            CommandError::UnsupportedParameter(Verb::Type),
            504,
        ),
        (
            "STRU X",
            CommandError::UnsupportedParameter(Verb::Stru),
            504,
        ),
        (
            "MODE Z",
            CommandError::UnsupportedParameter(Verb::Mode),
            504,
        ),
        (
            "PROT X",
            CommandError::UnsupportedParameter(Verb::Prot),
            504,
        ),
        ("MODE SS", CommandError::InvalidArgument(Verb::Mode), 501),
        ("EPSV foo", CommandError::InvalidArgument(Verb::Epsv), 501),
        (
            "EPRT |3|1.2.3.4|21|",
            CommandError::UnsupportedNetworkProtocol,
            522,
        ),
        (
            "EPRT |1|1.2.3.4|",
            CommandError::InvalidArgument(Verb::Eprt),
            501,
        ),
        ("ALLO ten", CommandError::InvalidArgument(Verb::Allo), 501),
        (
            "HOST ftp.example.com:21",
            CommandError::InvalidArgument(Verb::Host),
            501,
        ),
        (
            "HOST -bad-.example",
            CommandError::InvalidArgument(Verb::Host),
            501,
        ),
        ("LANG en_US", CommandError::InvalidArgument(Verb::Lang), 501),
        ("OPTS  UTF8", CommandError::InvalidArgument(Verb::Opts), 501),
    ];
    for (line, error, code) in cases {
        assert_eq!(parse(line), Err(error.clone()), "parsing {line:?}");
        assert_eq!(error.reply_code().get(), code, "{error}");
    }
}

#[test]
fn serializer_refuses_line_breaks_and_writes_nothing() {
    let mut out = BytesMut::from(&b"kept"[..]);
    for command in [
        Command::Retr(b("a\r\nDELE b")),
        Command::User(b("x\ny")),
        Command::Pass(Password(b("p\rw"))),
        Command::List(Some(b("\n"))),
        Command::Opts {
            command: b("MLST"),
            options: Some(b("a\r\n")),
        },
        Command::Auth(AuthMechanism::Other(b("X\r\nQUIT"))),
    ] {
        assert_eq!(
            command.encode(&mut out),
            Err(EncodeError::LineBreak),
            "{command:?}"
        );
    }
    assert_eq!(&out[..], b"kept");
}

#[test]
fn serializer_refuses_empty_required_and_malformed_arguments() {
    assert_eq!(
        Command::Cwd(Bytes::new()).to_bytes(),
        Err(EncodeError::EmptyArgument)
    );
    assert_eq!(
        Command::Auth(AuthMechanism::Other(Bytes::new())).to_bytes(),
        Err(EncodeError::EmptyArgument)
    );
    assert_eq!(
        Command::Opts {
            command: b("A B"),
            options: None
        }
        .to_bytes(),
        Err(EncodeError::InvalidArgument)
    );
    assert_eq!(
        Command::Host(HostName::Domain("a b".into())).to_bytes(),
        Err(EncodeError::InvalidArgument)
    );
    assert_eq!(
        Command::Lang(Some("en US".into())).to_bytes(),
        Err(EncodeError::InvalidArgument)
    );
    // An empty optional argument is the same as none.
    assert_eq!(
        Command::List(Some(Bytes::new())).to_bytes().unwrap(),
        Bytes::from_static(b"LIST\r\n")
    );
}

/// lftp 4.9 sends `HOST ::1`, without the brackets RFC 7151 §3 requires.
#[test]
fn host_accepts_a_bare_ipv6_literal() {
    assert_eq!(
        parse("HOST ::1"),
        Ok(Command::Host(HostName::Ipv6("::1".parse().unwrap())))
    );
    assert_eq!(
        Command::Host(HostName::Ipv6("::1".parse().unwrap()))
            .to_bytes()
            .unwrap(),
        Bytes::from_static(b"HOST [::1]\r\n")
    );
    assert_eq!(
        parse("HOST [::1]:21"),
        Err(CommandError::InvalidArgument(Verb::Host))
    );
}

#[test]
fn password_is_not_in_debug_output() {
    let debug = format!("{:?}", parse("PASS hunter2").unwrap());
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn arguments_are_slices_of_the_line() {
    let line = Bytes::from_static(b"RETR some/file");
    let Ok(Command::Retr(path)) = Command::parse(line.clone()) else {
        panic!("not RETR");
    };
    assert_eq!(path.as_ptr(), line[5..].as_ptr());
}

/// Commands as curl 7.88, lftp 4.9 and Python's ftplib send them.
#[test]
fn client_wordings() {
    let lines = [
        "USER anonymous",
        "PASS ftp@example.com",
        "PASS anonymous@",
        "PWD",
        "EPSV",
        "PASV",
        "TYPE I",
        "TYPE A",
        "SIZE file.bin",
        "MDTM file.bin",
        "REST 1048576",
        "RETR file.bin",
        "STOR up.bin",
        "APPE up.bin",
        "EPRT |1|127.0.0.1|40123|",
        "EPRT |2|::1|40123|",
        "PORT 127,0,0,1,156,187",
        "CWD /pub",
        "FEAT",
        "OPTS UTF8 ON",
        "OPTS MLST type;size;modify;perm;UNIX.mode;",
        "MLSD",
        "LIST -a",
        "NLST",
        "QUIT",
    ];
    for line in lines {
        let command = parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(
            command.to_bytes().unwrap(),
            Bytes::from(format!("{line}\r\n"))
        );
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    fn line_bytes(min: usize) -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(
            any::<u8>().prop_filter("no line break", |b| *b != b'\r' && *b != b'\n'),
            min..24,
        )
        .prop_map(Bytes::from)
    }

    fn path() -> impl Strategy<Value = Bytes> {
        line_bytes(1)
    }

    fn optional_path() -> impl Strategy<Value = Option<Bytes>> {
        proptest::option::of(path())
    }

    fn token() -> impl Strategy<Value = Bytes> {
        "[A-Za-z0-9;=._-]{1,12}".prop_map(Bytes::from)
    }

    fn socket_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<Ipv4Addr>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
            (any::<Ipv6Addr>(), any::<u16>())
                .prop_map(|(ip, port)| SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0))),
        ]
    }

    fn text_format() -> impl Strategy<Value = Option<TextFormat>> {
        proptest::option::of(prop_oneof![
            Just(TextFormat::NonPrint),
            Just(TextFormat::Telnet),
            Just(TextFormat::CarriageControl),
        ])
    }

    fn domain() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?){0,3}"
            .prop_filter("not an IPv4 address", |d| d.parse::<Ipv4Addr>().is_err())
    }

    fn auth_other() -> impl Strategy<Value = Bytes> {
        line_bytes(1).prop_filter("not a known mechanism", |name| {
            let trimmed = name.trim_ascii();
            !["TLS", "TLS-C", "TLS-P", "SSL"]
                .iter()
                .any(|known| trimmed.eq_ignore_ascii_case(known.as_bytes()))
        })
    }

    pub(super) fn command() -> impl Strategy<Value = Command> {
        use Command as C;
        let without_argument = prop_oneof![
            Just(C::Cdup),
            Just(C::Xcup),
            Just(C::Rein),
            Just(C::Quit),
            Just(C::Pasv),
            Just(C::Abor),
            Just(C::Pwd),
            Just(C::Xpwd),
            Just(C::Syst),
            Just(C::Noop),
            Just(C::Feat),
            Just(C::Ccc),
        ];
        let with_path = (0..24usize, path()).prop_map(|(n, p)| match n {
            0 => C::User(p),
            1 => C::Acct(p),
            2 => C::Cwd(p),
            3 => C::Xcwd(p),
            4 => C::Smnt(p),
            5 => C::Retr(p),
            6 => C::Stor(p),
            7 => C::Appe(p),
            8 => C::Rnfr(p),
            9 => C::Rnto(p),
            10 => C::Dele(p),
            11 => C::Rmd(p),
            12 => C::Xrmd(p),
            13 => C::Mkd(p),
            14 => C::Xmkd(p),
            15 => C::Site(p),
            16 => C::Size(p),
            17 => C::Mdtm(p),
            18 => C::Adat(p),
            19 => C::Mic(p),
            20 => C::Conf(p),
            21 => C::Mfmt(p),
            22 => C::Hash(p),
            _ => C::Enc(p),
        });
        let with_optional_path = (0..7usize, optional_path()).prop_map(|(n, p)| match n {
            0 => C::Stou(p),
            1 => C::List(p),
            2 => C::Nlst(p),
            3 => C::Stat(p),
            4 => C::Help(p),
            5 => C::Mlst(p),
            _ => C::Mlsd(p),
        });
        let typed = prop_oneof![
            line_bytes(0).prop_map(|p| C::Pass(Password(p))),
            any::<SocketAddrV4>().prop_map(C::Port),
            socket_addr().prop_map(C::Eprt),
            proptest::option::of(prop_oneof![
                Just(EpsvArgument::All),
                any::<u16>().prop_map(EpsvArgument::Protocol)
            ])
            .prop_map(C::Epsv),
            prop_oneof![
                text_format().prop_map(TransferType::Ascii),
                text_format().prop_map(TransferType::Ebcdic),
                Just(TransferType::Image),
                (1..=255u8).prop_map(TransferType::Local),
            ]
            .prop_map(C::Type),
            prop_oneof![
                Just(FileStructure::File),
                Just(FileStructure::Record),
                Just(FileStructure::Page)
            ]
            .prop_map(C::Stru),
            prop_oneof![
                Just(TransferMode::Stream),
                Just(TransferMode::Block),
                Just(TransferMode::Compressed)
            ]
            .prop_map(C::Mode),
            (any::<u64>(), proptest::option::of(any::<u64>()))
                .prop_map(|(size, record_size)| C::Allo { size, record_size }),
            any::<u64>().prop_map(C::Rest),
            (any::<u64>(), any::<u64>()).prop_map(|(start, end)| C::Rang { start, end }),
            (token(), proptest::option::of(line_bytes(1)))
                .prop_map(|(command, options)| C::Opts { command, options }),
            prop_oneof![
                Just(AuthMechanism::Tls),
                Just(AuthMechanism::TlsC),
                Just(AuthMechanism::TlsP),
                Just(AuthMechanism::Ssl),
                auth_other().prop_map(AuthMechanism::Other),
            ]
            .prop_map(C::Auth),
            any::<u32>().prop_map(C::Pbsz),
            prop_oneof![
                Just(ProtectionLevel::Clear),
                Just(ProtectionLevel::Safe),
                Just(ProtectionLevel::Confidential),
                Just(ProtectionLevel::Private),
            ]
            .prop_map(C::Prot),
            prop_oneof![
                domain().prop_map(HostName::Domain),
                any::<Ipv4Addr>().prop_map(HostName::Ipv4),
                any::<Ipv6Addr>().prop_map(HostName::Ipv6),
            ]
            .prop_map(C::Host),
            proptest::option::of("([a-zA-Z]{1,8}|\\*)(-[a-zA-Z0-9]{1,8}){0,2}").prop_map(C::Lang),
        ];
        prop_oneof![without_argument, with_path, with_optional_path, typed]
    }

    proptest! {
        #[test]
        fn parse_of_serialize_is_identity(command in command()) {
            let wire = command.to_bytes().unwrap();
            let mut decoder = crate::LineDecoder::new(usize::MAX);
            decoder.push(&wire);
            let Some(crate::ControlItem::Line(line)) = decoder.next_item() else {
                panic!("not one line: {wire:?}");
            };
            prop_assert_eq!(decoder.next_item(), None);
            prop_assert_eq!(Command::parse(line), Ok(command));
        }

        #[test]
        fn arbitrary_lines_never_panic(line in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Command::parse_slice(&line);
        }

        #[test]
        fn lines_that_start_with_a_verb_never_panic(
            verb in proptest::sample::select(Verb::ALL),
            rest in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut line = verb.as_str().as_bytes().to_vec();
            line.push(b' ');
            line.extend_from_slice(&rest);
            if let Ok(command) = Command::parse_slice(&line) {
                prop_assert_eq!(command.verb(), verb);
            }
        }
    }
}
