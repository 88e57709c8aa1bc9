//! The quoted pathname of a 257 reply (RFC 959 Appendix II).
//!
//! `257 "<path>" <commentary>`: the pathname is wrapped in double quotes and
//! each `"` inside it is doubled, so `MKD foo"bar` is answered
//! `257 "/usr/dm/foo""bar" directory created`.

use bytes::Bytes;

/// Wraps `path` in double quotes, doubling each quote inside it.
pub fn quote(path: &[u8]) -> Vec<u8> {
    let quotes = path.iter().filter(|&&b| b == b'"').count();
    let mut out = Vec::with_capacity(path.len() + quotes + 2);
    out.push(b'"');
    for &byte in path {
        out.push(byte);
        if byte == b'"' {
            out.push(b'"');
        }
    }
    out.push(b'"');
    out
}

/// Reads the quoted pathname at the start of a 257 reply's text (spaces
/// before the opening quote are skipped). `""` inside stands for one `"`,
/// and a single `"` ends the name, as in Python's ftplib. Returns `None`
/// when the text does not start with a quote or the closing quote is
/// missing.
pub fn unquote(text: &[u8]) -> Option<Bytes> {
    let text = text.trim_ascii_start();
    let mut bytes = text.strip_prefix(b"\"")?.iter();
    let mut name = Vec::new();
    while let Some(&byte) = bytes.next() {
        if byte == b'"' {
            if bytes.as_slice().first() == Some(&b'"') {
                bytes.next();
            } else {
                return Some(Bytes::from(name));
            }
        }
        name.push(byte);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_959_example() {
        assert_eq!(quote(b"/usr/dm/foo\"bar"), b"\"/usr/dm/foo\"\"bar\"");
        assert_eq!(
            unquote(b"\"/usr/dm/foo\"\"bar\" directory created").as_deref(),
            Some(&b"/usr/dm/foo\"bar"[..])
        );
    }

    #[test]
    fn round_trips_edge_names() {
        for name in [
            &b""[..],
            b"\"",
            b"\"\"",
            b"a b",
            b"/x\"",
            b"\xff\xfe",
            b"\"start",
        ] {
            assert_eq!(unquote(&quote(name)).as_deref(), Some(name));
        }
    }

    #[test]
    fn refuses_what_is_not_quoted() {
        assert_eq!(unquote(b"/home is current directory"), None);
        assert_eq!(unquote(b"\"/unterminated"), None);
        assert_eq!(unquote(b""), None);
    }

    #[test]
    fn server_wordings() {
        // vsftpd, ProFTPD and pure-ftpd wording.
        assert_eq!(
            unquote(b"\"/\" is the current directory").as_deref(),
            Some(&b"/"[..])
        );
        assert_eq!(unquote(b"\"/pub\"").as_deref(), Some(&b"/pub"[..]));
        assert_eq!(unquote(b" \"/a\" created").as_deref(), Some(&b"/a"[..]));
    }
}
