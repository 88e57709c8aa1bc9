use super::*;

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

fn parse_all(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
    let mut parser = ReplyParser::default();
    parser.push(input);
    std::iter::from_fn(|| parser.next_reply()).collect()
}

fn reply(n: u16, lines: &[&[u8]]) -> Reply {
    Reply::multiline(
        code(n),
        lines.iter().map(|l| Bytes::copy_from_slice(l)).collect(),
    )
}

#[test]
fn code_class_and_category() {
    assert_eq!(ReplyCode::SERVICE_READY.class(), ReplyClass::Completion);
    assert_eq!(
        ReplyCode::SERVICE_READY.category(),
        ReplyCategory::Connections
    );
    assert_eq!(
        ReplyCode::ABOUT_TO_OPEN_DATA_CONNECTION.class(),
        ReplyClass::Preliminary
    );
    assert_eq!(ReplyCode::NEED_PASSWORD.class(), ReplyClass::Intermediate);
    assert_eq!(
        ReplyCode::NEED_PASSWORD.category(),
        ReplyCategory::Authentication
    );
    assert_eq!(
        ReplyCode::LOCAL_ERROR.class(),
        ReplyClass::TransientNegative
    );
    assert_eq!(
        ReplyCode::FILE_NOT_AVAILABLE.class(),
        ReplyClass::PermanentNegative
    );
    assert_eq!(
        ReplyCode::FILE_NOT_AVAILABLE.category(),
        ReplyCategory::FileSystem
    );
    assert_eq!(ReplyCode::PRIVACY_PROTECTED.class(), ReplyClass::Protected);
    assert_eq!(code(170).category(), ReplyCategory::Other(7));
    assert!(ReplyCode::TRANSFER_ABORTED.is_negative());
    assert!(ReplyCode::COMMAND_OK.is_completion());
    assert!(code(125).is_preliminary());
    assert!(code(350).is_intermediate());
    assert_eq!(ReplyCode::new(99), None);
    assert_eq!(ReplyCode::new(700), None);
    assert_eq!(ReplyCode::from_digits(*b"226"), Some(code(226)));
    assert_eq!(ReplyCode::from_digits(*b"026"), None);
    assert_eq!(ReplyCode::from_digits(*b"2a6"), None);
    assert_eq!(code(257).digits(), *b"257");
}

#[test]
fn single_line_replies() {
    assert_eq!(
        parse_all(b"220 (vsFTPd 3.0.3)\r\n331 Please specify the password.\r\n"),
        vec![
            Ok(reply(220, &[b"(vsFTPd 3.0.3)"])),
            Ok(reply(331, &[b"Please specify the password."])),
        ]
    );
}

/// RFC 959 §4.2's own multi-line example, and its rule that intermediate
/// lines may begin with digits.
#[test]
fn rfc_959_multiline_example() {
    let input = b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n";
    assert_eq!(
        parse_all(input),
        vec![Ok(reply(
            123,
            &[
                b"First line",
                b"Second line",
                b"  234 A line beginning with numbers",
                b"The last line"
            ]
        ))]
    );
}

#[test]
fn intermediate_lines_with_other_codes_do_not_end_the_reply() {
    let input = b"211-Status\r\n200 not the end\r\n211-still not\r\n211x neither\r\n211 End\r\n";
    assert_eq!(
        parse_all(input),
        vec![Ok(reply(
            211,
            &[
                b"Status",
                b"200 not the end",
                b"still not",
                b"211x neither",
                b"End"
            ]
        ))]
    );
}

/// vsftpd 3.0.3's FEAT and HELP replies.
#[test]
fn vsftpd_feat_and_help() {
    let feat = b"211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n";
    let parsed = parse_all(feat);
    assert_eq!(parsed.len(), 1);
    let feat = parsed[0].as_ref().unwrap();
    assert_eq!(feat.code, ReplyCode::SYSTEM_STATUS);
    assert_eq!(feat.lines.len(), 10);
    assert_eq!(&feat.lines[5][..], b" REST STREAM");

    let help = b"214-The following commands are recognized.\r\n ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n214 Help OK.\r\n";
    let parsed = parse_all(help);
    assert_eq!(parsed[0].as_ref().unwrap().lines.len(), 3);
}

#[test]
fn tolerated_forms() {
    // Code alone, no SP: single line and as the last line.
    assert_eq!(parse_all(b"226\r\n"), vec![Ok(reply(226, &[b""]))]);
    assert_eq!(
        parse_all(b"226-a\r\n226\r\n"),
        vec![Ok(reply(226, &[b"a", b""]))]
    );
    // Bare LF.
    assert_eq!(parse_all(b"200 ok\n"), vec![Ok(reply(200, &[b"ok"]))]);
    // Text right after the code.
    assert_eq!(
        parse_all(b"220Welcome\r\n"),
        vec![Ok(reply(220, &[b"Welcome"]))]
    );
    // 6yz protected replies.
    assert_eq!(
        parse_all(b"631 aGVsbG8=\r\n"),
        vec![Ok(reply(631, &[b"aGVsbG8="]))]
    );
}

#[test]
fn malformed_lines_are_reported_and_parsing_goes_on() {
    assert_eq!(
        parse_all(b"hello\r\n22 short\r\n700 bad\r\n200 ok\r\n"),
        vec![
            Err(ReplyError::Malformed(Bytes::from_static(b"hello"))),
            Err(ReplyError::Malformed(Bytes::from_static(b"22 short"))),
            Err(ReplyError::Malformed(Bytes::from_static(b"700 bad"))),
            Ok(reply(200, &[b"ok"])),
        ]
    );
}

#[test]
fn too_long_line_gives_too_large_with_the_code() {
    let mut parser = ReplyParser::new(16, 1024);
    parser.push(b"550 ");
    parser.push(&[b'x'; 100]);
    parser.push(b"\r\n200 ok\r\n");
    assert_eq!(
        parser.next_reply(),
        Some(Err(ReplyError::TooLarge { code: code(550) }))
    );
    assert_eq!(parser.next_reply(), Some(Ok(reply(200, &[b"ok"]))));
}

#[test]
fn endless_multiline_reply_stays_bounded() {
    let mut parser = ReplyParser::new(64, 1024);
    parser.push(b"211-start\r\n");
    for _ in 0..10_000 {
        parser.push(b" an intermediate line that never ends the reply\r\n");
        assert_eq!(parser.next_reply(), None);
    }
    let held = parser
        .pending
        .as_ref()
        .map_or(0, |p| p.lines.iter().map(Bytes::len).sum());
    assert!(held <= 1024, "holds {held} bytes");
    parser.push(b"211 End\r\n");
    assert_eq!(
        parser.next_reply(),
        Some(Err(ReplyError::TooLarge { code: code(211) }))
    );
    assert!(!parser.is_mid_reply());
}

#[test]
fn incremental_input() {
    let mut parser = ReplyParser::default();
    parser.push(b"150 Opening BINARY mode data connection\r");
    assert_eq!(parser.next_reply(), None);
    assert!(parser.is_mid_reply());
    parser.push(b"\n226-Transfer");
    assert_eq!(
        parser.next_reply(),
        Some(Ok(reply(150, &[b"Opening BINARY mode data connection"])))
    );
    assert_eq!(parser.next_reply(), None);
    parser.push(b" complete\r\n226 ");
    assert_eq!(parser.next_reply(), None);
    parser.push(b"Bye\r\n");
    assert_eq!(
        parser.next_reply(),
        Some(Ok(reply(226, &[b"Transfer complete", b"Bye"])))
    );
}

#[test]
fn iac_is_doubled_out_and_undoubled_in() {
    let r = reply(550, &[b"no such file: \xff"]);
    let wire = r.to_bytes().unwrap();
    assert_eq!(&wire[..], b"550 no such file: \xff\xff\r\n");
    assert_eq!(parse_all(&wire), vec![Ok(r)]);
}

#[test]
fn serializer_indents_digit_lines_so_they_cannot_end_the_reply() {
    let r = reply(211, &[b"Status", b"211 forged end", b"226 other", b"End"]);
    let wire = r.to_bytes().unwrap();
    assert_eq!(
        &wire[..],
        b"211-Status\r\n 211 forged end\r\n 226 other\r\n211 End\r\n"
    );
    assert_eq!(
        parse_all(&wire),
        vec![Ok(reply(
            211,
            &[b"Status", b" 211 forged end", b" 226 other", b"End"]
        ))]
    );
}

#[test]
fn serializer_refuses_line_breaks() {
    let mut out = BytesMut::new();
    for r in [
        reply(550, &[b"x\r\n200 forged"]),
        reply(211, &[b"a", b"b\nc", b"d"]),
        reply(257, &[b"\"/a\rb\" created"]),
    ] {
        assert_eq!(r.encode(&mut out), Err(EncodeError::LineBreak));
    }
    assert!(out.is_empty());
}

#[test]
fn display_is_readable() {
    assert_eq!(
        reply(211, &[b"a", b" b", b"End"]).to_string(),
        "211 a\n b\nEnd"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn text(min: usize) -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(
            any::<u8>().prop_filter("no line break", |b| *b != b'\r' && *b != b'\n'),
            min..30,
        )
        .prop_map(Bytes::from)
    }

    fn intermediate() -> impl Strategy<Value = Bytes> {
        text(0).prop_filter("does not start with a digit", |l| {
            !l.first().is_some_and(u8::is_ascii_digit)
        })
    }

    fn reply() -> impl Strategy<Value = Reply> {
        (
            100..=699u16,
            text(0),
            proptest::collection::vec(intermediate(), 0..5),
            proptest::option::of(text(0)),
        )
            .prop_map(|(n, first, middle, last)| {
                let mut lines = vec![first];
                if let Some(last) = last {
                    lines.extend(middle);
                    lines.push(last);
                }
                Reply::multiline(ReplyCode::new(n).unwrap(), lines)
            })
    }

    fn parse_split(input: &[u8], cuts: &[usize]) -> Vec<Result<Reply, ReplyError>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut parser = ReplyParser::new(128, 2048);
        let mut out = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([input.len()]) {
            parser.push(&input[start..cut]);
            out.extend(std::iter::from_fn(|| parser.next_reply()));
            start = cut;
        }
        out
    }

    proptest! {
        #[test]
        fn parse_of_serialize_is_identity(replies in proptest::collection::vec(reply(), 1..4)) {
            let mut wire = BytesMut::new();
            for r in &replies {
                r.encode(&mut wire).unwrap();
            }
            let parsed: Vec<Reply> = parse_all(&wire).into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(parsed, replies);
        }

        #[test]
        fn any_split_gives_the_same_replies(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'2'), Just(b'1'), Just(b'-'), Just(b' '), Just(b'\r'), Just(b'\n'),
                    Just(0xFF), any::<u8>(),
                ],
                0..300,
            ),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            prop_assert_eq!(parse_split(&input, &[]), parse_split(&input, &cuts));
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_split(&input, &[7, 100]);
        }
    }
}
