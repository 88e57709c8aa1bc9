//! The TYPE A line-ending codec for data streams (RFC 959 §3.1.1.1).
//!
//! On the wire, TYPE A lines end in CRLF. The sender turns each LF that is
//! not already preceded by CR into CRLF, and leaves an existing CRLF alone
//! (not CR CR LF), as vsftpd and ProFTPD do. The receiver turns CRLF into
//! LF and keeps a lone CR. Both carry state across chunks, so a stream may
//! be cut anywhere: a CR at the end of a chunk waits for the next byte.
//!
//! TYPE I and `L 8` transfers do not use this codec. LIST and NLST output
//! is built with CRLF already; MLSD output is binary (RFC 3659 §7.2).

/// Local text to wire form: LF → CRLF.
#[derive(Debug, Clone, Default)]
pub struct AsciiEncoder {
    last_was_cr: bool,
}

impl AsciiEncoder {
    /// A new encoder at the start of a stream.
    pub fn new() -> AsciiEncoder {
        AsciiEncoder::default()
    }

    /// Appends the wire form of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32);
        let mut rest = input;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            let (before, after) = rest.split_at(at);
            out.extend_from_slice(before);
            let preceded_by_cr = match before.last() {
                Some(&b) => b == b'\r',
                None => self.last_was_cr,
            };
            if !preceded_by_cr {
                out.push(b'\r');
            }
            out.push(b'\n');
            self.last_was_cr = false;
            rest = after.get(1..).unwrap_or_default();
        }
        out.extend_from_slice(rest);
        if let Some(&last) = rest.last() {
            self.last_was_cr = last == b'\r';
        }
    }
}

/// Wire form to local text: CRLF → LF, a lone CR kept.
#[derive(Debug, Clone, Default)]
pub struct AsciiDecoder {
    pending_cr: bool,
}

impl AsciiDecoder {
    /// A new decoder at the start of a stream.
    pub fn new() -> AsciiDecoder {
        AsciiDecoder::default()
    }

    /// Appends the local form of `input` to `out`. A CR at the end of
    /// `input` is held until the next call or [`AsciiDecoder::finish`].
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        for &byte in input {
            if std::mem::take(&mut self.pending_cr) && byte != b'\n' {
                out.push(b'\r');
            }
            if byte == b'\r' {
                self.pending_cr = true;
            } else {
                out.push(byte);
            }
        }
    }

    /// Ends the stream: a CR still held is written out.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut e = AsciiEncoder::new();
        let mut out = Vec::new();
        for c in chunks {
            e.encode(c, &mut out);
        }
        out
    }

    fn decode_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut d = AsciiDecoder::new();
        let mut out = Vec::new();
        for c in chunks {
            d.decode(c, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn encoder_adds_cr_only_where_missing() {
        assert_eq!(encode_chunks(&[b"a\nb\r\nc\n"]), b"a\r\nb\r\nc\r\n");
        assert_eq!(encode_chunks(&[b"\n\n"]), b"\r\n\r\n");
        assert_eq!(encode_chunks(&[b"lone\rcr"]), b"lone\rcr");
        // A CRLF cut between chunks stays CRLF.
        assert_eq!(encode_chunks(&[b"a\r", b"\nb"]), b"a\r\nb");
        assert_eq!(encode_chunks(&[b"a", b"\n"]), b"a\r\n");
    }

    #[test]
    fn decoder_turns_crlf_into_lf_and_keeps_lone_cr() {
        assert_eq!(decode_chunks(&[b"a\r\nb\r\n"]), b"a\nb\n");
        assert_eq!(decode_chunks(&[b"a\rb\r\r\n"]), b"a\rb\r\n");
        assert_eq!(decode_chunks(&[b"a\r", b"\nb"]), b"a\nb");
        assert_eq!(decode_chunks(&[b"end\r"]), b"end\r");
        assert_eq!(decode_chunks(&[b"bare\nlf"]), b"bare\nlf");
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_output(input in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()], 0..200), cut in any::<usize>()) {
            let cut = cut % (input.len() + 1);
            let (a, b) = input.split_at(cut);
            prop_assert_eq!(encode_chunks(&[&input]), encode_chunks(&[a, b]));
            prop_assert_eq!(decode_chunks(&[&input]), decode_chunks(&[a, b]));
        }

        #[test]
        fn text_without_cr_round_trips(input in proptest::collection::vec(any::<u8>().prop_filter("no CR", |b| *b != b'\r'), 0..200)) {
            prop_assert_eq!(decode_chunks(&[&encode_chunks(&[&input])]), input);
        }
    }
}
