//! Control-line framing: turns the raw bytes of a control connection into
//! lines, in whatever pieces the bytes arrive.
//!
//! Rules, in the order the decoder applies them:
//!
//! - **Line ends** (RFC 959 §5.3): CRLF ends a line. A bare LF ends one too
//!   (no RFC says so, but vsftpd and others accept it); a CR right before it
//!   is dropped, so LF can never occur inside a line.
//! - **CR inside a name** (RFC 2640 §3.1): `CR NUL` stands for a CR that is
//!   part of the line; the NUL is dropped. Any other lone CR is kept as it is.
//! - **Telnet** (RFC 854, RFC 1123 §4.1.2.12): `IAC IAC` is one data byte
//!   0xFF. `IAC WILL x` and `IAC DO x` are refused: the decoder yields
//!   [`ControlItem::TelnetReply`] with `IAC DONT x` or `IAC WONT x` for the
//!   caller to send. `IAC WONT x` and `IAC DONT x` are dropped (answering
//!   them would start a negotiation loop). Subnegotiation `IAC SB … IAC SE`
//!   is dropped whole. Every other `IAC x` (IP, DM, AO, AYT, NOP, …) is
//!   dropped, which removes the "interrupt process" and Synch that clients
//!   send before `ABOR` (RFC 959 §4.1) and lets the `ABOR` line through.
//!   A lone DM byte right after `IAC IP` is dropped as well: it is what is
//!   left of BSD ftp's `IAC IP IAC DM` when the urgent `IAC` byte was taken
//!   out of the stream by a socket without `SO_OOBINLINE`.
//! - **Length**: a line longer than the decoder's limit is consumed up to its
//!   end and reported as [`ControlItem::TooLong`] with its first bytes; it is
//!   never buffered beyond the limit.
//!
//! The decoder works lazily: [`LineDecoder::push`] only stores bytes and
//! [`LineDecoder::next_item`] decodes up to the end of the next item, so a
//! caller that stops asking leaves later commands undecoded in the buffer
//! (and can see how many bytes wait with [`LineDecoder::buffered`]).

use bytes::{Buf, Bytes, BytesMut};

/// Telnet "interpret as command".
pub const IAC: u8 = 0xFF;
/// Telnet DONT.
pub const DONT: u8 = 0xFE;
/// Telnet DO.
pub const DO: u8 = 0xFD;
/// Telnet WONT.
pub const WONT: u8 = 0xFC;
/// Telnet WILL.
pub const WILL: u8 = 0xFB;
/// Telnet subnegotiation begin.
pub const SB: u8 = 0xFA;
/// Telnet subnegotiation end.
pub const SE: u8 = 0xF0;
/// Telnet "interrupt process".
pub const IP: u8 = 0xF4;
/// Telnet data mark, the end of a Synch.
pub const DM: u8 = 0xF2;

/// The line-length limit the engines use unless configured otherwise.
///
/// No RFC sets one. 4096 bytes lets a command carry a pathname as long as
/// Linux's `PATH_MAX` and matches vsftpd's cap, while keeping a session's
/// buffer small.
pub const DEFAULT_MAX_LINE: usize = 4096;

/// One item decoded from a control connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlItem {
    /// A complete line, without its line end and with Telnet sequences
    /// removed.
    Line(Bytes),
    /// A line longer than the limit. `prefix` holds its first bytes, up to
    /// the limit; the rest was discarded.
    TooLong {
        /// The first bytes of the line, as many as the limit allows.
        prefix: Bytes,
    },
    /// Three bytes to send back to refuse a Telnet option the peer offered
    /// or asked for (`IAC DONT x` or `IAC WONT x`).
    TelnetReply([u8; 3]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    /// Ordinary data.
    Data,
    /// After `IAC`.
    Iac,
    /// After `IAC` and one of WILL, WONT, DO, DONT: the next byte is the
    /// option.
    Option(u8),
    /// Inside `IAC SB … IAC SE`.
    Sub,
    /// Inside a subnegotiation, after `IAC`.
    SubIac,
}

/// Incremental control-line decoder. See the [module docs](self) for the
/// rules it applies.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    /// Bytes received and not yet decoded.
    raw: BytesMut,
    /// The line being assembled, never longer than `max_line`.
    line: BytesMut,
    max_line: usize,
    telnet: Telnet,
    /// The previous data byte was a CR whose meaning depends on the next
    /// byte (line end, literal CR, or kept as it is).
    pending_cr: bool,
    /// The line being assembled went over the limit.
    overflow: bool,
    /// The previous sequence was `IAC IP`: a lone DM byte is dropped.
    after_ip: bool,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl LineDecoder {
    /// A decoder that reports lines longer than `max_line` bytes as
    /// [`ControlItem::TooLong`]. A limit of 0 is raised to 1.
    pub fn new(max_line: usize) -> Self {
        LineDecoder {
            raw: BytesMut::new(),
            line: BytesMut::new(),
            max_line: max_line.max(1),
            telnet: Telnet::Data,
            pending_cr: false,
            overflow: false,
            after_ip: false,
        }
    }

    /// The line-length limit.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Stores received bytes for decoding. Bytes may be split anywhere.
    pub fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
    }

    /// Drops every byte pushed and not yet decoded, and the partial line:
    /// what came in clear after AUTH TLS is never read as commands.
    pub fn clear(&mut self) {
        let max_line = self.max_line;
        *self = LineDecoder::new(max_line);
    }

    /// Bytes pushed and not yet decoded, plus the partial line held.
    pub fn buffered(&self) -> usize {
        self.raw.len() + self.line.len() + usize::from(self.pending_cr)
    }

    /// Whether received bytes have not all come out as items yet: a
    /// connection closing now would cut a line off.
    pub fn has_partial_line(&self) -> bool {
        self.buffered() > 0 || self.overflow || self.telnet != Telnet::Data
    }

    /// Decodes up to the end of the next item, or returns `None` when the
    /// stored bytes do not complete one.
    pub fn next_item(&mut self) -> Option<ControlItem> {
        let mut consumed = 0;
        let mut found = None;
        for &byte in self.raw.iter() {
            consumed += 1;
            found = step(
                byte,
                &mut self.telnet,
                &mut self.line,
                &mut LineState {
                    max_line: self.max_line,
                    pending_cr: &mut self.pending_cr,
                    overflow: &mut self.overflow,
                    after_ip: &mut self.after_ip,
                },
            );
            if found.is_some() {
                break;
            }
        }
        self.raw.advance(consumed);
        match found? {
            Found::Telnet(reply) => Some(ControlItem::TelnetReply(reply)),
            Found::LineEnd => {
                let line = self.line.split().freeze();
                if std::mem::take(&mut self.overflow) {
                    Some(ControlItem::TooLong { prefix: line })
                } else {
                    Some(ControlItem::Line(line))
                }
            }
        }
    }
}

impl Iterator for LineDecoder {
    type Item = ControlItem;

    fn next(&mut self) -> Option<ControlItem> {
        self.next_item()
    }
}

enum Found {
    LineEnd,
    Telnet([u8; 3]),
}

struct LineState<'a> {
    max_line: usize,
    pending_cr: &'a mut bool,
    overflow: &'a mut bool,
    after_ip: &'a mut bool,
}

impl LineState<'_> {
    fn data(&mut self, line: &mut BytesMut, byte: u8) {
        if line.len() < self.max_line {
            line.extend_from_slice(&[byte]);
        } else {
            *self.overflow = true;
        }
    }

    /// Settles a pending CR that turned out to be an ordinary byte.
    fn flush_cr(&mut self, line: &mut BytesMut) {
        if std::mem::take(self.pending_cr) {
            self.data(line, b'\r');
        }
    }
}

/// Advances the decoder by one byte.
fn step(
    byte: u8,
    telnet: &mut Telnet,
    line: &mut BytesMut,
    st: &mut LineState<'_>,
) -> Option<Found> {
    match *telnet {
        Telnet::Data => {
            let after_ip = std::mem::take(st.after_ip);
            match byte {
                IAC => *telnet = Telnet::Iac,
                b'\n' => {
                    // CRLF, or a bare LF: either ends the line; a CR right
                    // before the LF is part of the line end.
                    *st.pending_cr = false;
                    return Some(Found::LineEnd);
                }
                b'\r' => {
                    st.flush_cr(line);
                    *st.pending_cr = true;
                }
                0 if *st.pending_cr => {
                    // CR NUL: a CR that belongs to the line (RFC 2640 §3.1).
                    st.flush_cr(line);
                }
                DM if after_ip && !*st.pending_cr && line.is_empty() => {}
                _ => {
                    st.flush_cr(line);
                    st.data(line, byte);
                }
            }
        }
        Telnet::Iac => {
            *telnet = Telnet::Data;
            match byte {
                IAC => {
                    st.flush_cr(line);
                    st.data(line, IAC);
                }
                WILL | WONT | DO | DONT => *telnet = Telnet::Option(byte),
                SB => *telnet = Telnet::Sub,
                IP => *st.after_ip = true,
                _ => {}
            }
        }
        Telnet::Option(verb) => {
            *telnet = Telnet::Data;
            match verb {
                WILL => return Some(Found::Telnet([IAC, DONT, byte])),
                DO => return Some(Found::Telnet([IAC, WONT, byte])),
                _ => {}
            }
        }
        Telnet::Sub => {
            if byte == IAC {
                *telnet = Telnet::SubIac;
            }
        }
        Telnet::SubIac => {
            *telnet = if byte == SE {
                Telnet::Data
            } else {
                Telnet::Sub
            };
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], max: usize) -> Vec<ControlItem> {
        let mut d = LineDecoder::new(max);
        d.push(input);
        d.collect()
    }

    fn line(s: &[u8]) -> ControlItem {
        ControlItem::Line(Bytes::copy_from_slice(s))
    }

    #[test]
    fn crlf_and_bare_lf_end_lines() {
        assert_eq!(
            decode_all(b"USER a\r\nPASS b\nNOOP\r\n", 100),
            vec![line(b"USER a"), line(b"PASS b"), line(b"NOOP")]
        );
    }

    #[test]
    fn incomplete_line_waits() {
        let mut d = LineDecoder::new(100);
        d.push(b"NOOP\r");
        assert_eq!(d.next_item(), None);
        assert!(d.has_partial_line());
        d.push(b"\n");
        assert_eq!(d.next_item(), Some(line(b"NOOP")));
        assert!(!d.has_partial_line());
    }

    #[test]
    fn cr_nul_is_a_literal_cr_and_lone_cr_is_kept() {
        assert_eq!(
            decode_all(b"STOR a\r\0b\r\n", 100),
            vec![line(b"STOR a\rb")]
        );
        assert_eq!(decode_all(b"STOR a\rb\r\n", 100), vec![line(b"STOR a\rb")]);
        assert_eq!(decode_all(b"STOR a\r\r\n", 100), vec![line(b"STOR a\r")]);
    }

    #[test]
    fn iac_iac_is_one_ff_byte() {
        assert_eq!(
            decode_all(b"RETR \xff\xffx\r\n", 100),
            vec![line(b"RETR \xffx")]
        );
    }

    #[test]
    fn bsd_abort_sequence_yields_abor() {
        // BSD ftp: IAC IP IAC (urgent) then DM ABOR CRLF.
        assert_eq!(
            decode_all(b"\xff\xf4\xff\xf2ABOR\r\n", 100),
            vec![line(b"ABOR")]
        );
        // The same with the urgent IAC removed from the stream.
        assert_eq!(
            decode_all(b"\xff\xf4\xf2ABOR\r\n", 100),
            vec![line(b"ABOR")]
        );
    }

    #[test]
    fn will_and_do_are_refused_wont_and_dont_dropped() {
        assert_eq!(
            decode_all(
                b"\xff\xfb\x01\xff\xfd\x03\xff\xfc\x01\xff\xfe\x03NOOP\r\n",
                100
            ),
            vec![
                ControlItem::TelnetReply([IAC, DONT, 1]),
                ControlItem::TelnetReply([IAC, WONT, 3]),
                line(b"NOOP"),
            ]
        );
    }

    #[test]
    fn subnegotiation_is_dropped_whole() {
        assert_eq!(
            decode_all(b"NO\xff\xfa\x18\x00ab\xff\xff\r\n\xff\xf0OP\r\n", 100),
            vec![line(b"NOOP")]
        );
    }

    #[test]
    fn long_line_is_reported_once_and_not_buffered() {
        let mut d = LineDecoder::new(8);
        d.push(b"RETR 0123456789");
        assert_eq!(d.next_item(), None);
        assert!(d.buffered() <= 8);
        d.push(b"abcdef\r\nNOOP\r\n");
        assert_eq!(
            d.next_item(),
            Some(ControlItem::TooLong {
                prefix: Bytes::from_static(b"RETR 012")
            })
        );
        assert_eq!(d.next_item(), Some(line(b"NOOP")));
        assert_eq!(d.next_item(), None);
    }

    #[test]
    fn line_of_exactly_the_limit_is_accepted() {
        assert_eq!(decode_all(b"12345678\r\n", 8), vec![line(b"12345678")]);
    }

    #[test]
    fn decoding_is_lazy() {
        let mut d = LineDecoder::new(100);
        d.push(b"A\r\nB\r\n");
        assert_eq!(d.next_item(), Some(line(b"A")));
        assert_eq!(d.buffered(), 3);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn decode_split(input: &[u8], cuts: &[usize], max: usize) -> Vec<ControlItem> {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
            cuts.sort_unstable();
            let mut d = LineDecoder::new(max);
            let mut out = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([input.len()]) {
                d.push(&input[start..cut]);
                out.extend(d.by_ref());
                start = cut;
            }
            out
        }

        fn control_bytes() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(
                prop_oneof![
                    Just(b'\r'),
                    Just(b'\n'),
                    Just(0u8),
                    Just(IAC),
                    Just(WILL),
                    Just(DO),
                    Just(SB),
                    Just(SE),
                    Just(IP),
                    Just(DM),
                    Just(b'A'),
                    any::<u8>(),
                ],
                0..200,
            )
        }

        proptest! {
            #[test]
            fn any_split_gives_the_same_items(
                input in control_bytes(),
                cuts in proptest::collection::vec(any::<usize>(), 0..10),
                max in 1..40usize,
            ) {
                prop_assert_eq!(decode_split(&input, &[], max), decode_split(&input, &cuts, max));
            }

            #[test]
            fn lines_respect_the_limit_and_hold_no_lf(input in control_bytes(), max in 1..40usize) {
                for item in decode_split(&input, &[], max) {
                    match item {
                        ControlItem::Line(l) => {
                            prop_assert!(l.len() <= max);
                            prop_assert!(!l.contains(&b'\n'));
                        }
                        ControlItem::TooLong { prefix } => prop_assert_eq!(prefix.len(), max),
                        ControlItem::TelnetReply([iac, verb, _]) => {
                            prop_assert_eq!(iac, IAC);
                            prop_assert!(verb == DONT || verb == WONT);
                        }
                    }
                }
            }

            #[test]
            fn escaped_lines_come_back_unchanged(
                lines in proptest::collection::vec(
                    proptest::collection::vec(any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'), 0..30),
                    0..6,
                ),
            ) {
                let mut wire = BytesMut::new();
                for line in &lines {
                    crate::encode::put_escaped(&mut wire, line);
                    wire.extend_from_slice(b"\r\n");
                }
                let items = decode_split(&wire, &[], 64);
                let expected: Vec<ControlItem> =
                    lines.iter().map(|l| ControlItem::Line(Bytes::copy_from_slice(l))).collect();
                prop_assert_eq!(items, expected);
            }
        }
    }
}
