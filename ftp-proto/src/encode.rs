//! Shared rules for writing control-connection lines.

use bytes::{BufMut, BytesMut};
use std::fmt;

/// Why a command or a reply could not be serialized. Nothing is written when
/// serialization fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// An argument or reply line holds CR or LF, which would end the line
    /// early and let the rest be read as another command or reply line.
    LineBreak,
    /// A required argument is empty: the peer would read the command as
    /// having no argument at all.
    EmptyArgument,
    /// An argument does not fit the command's grammar (for example a space
    /// inside the command name of `OPTS`, or a malformed language tag).
    InvalidArgument,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EncodeError::LineBreak => "argument holds CR or LF",
            EncodeError::EmptyArgument => "required argument is empty",
            EncodeError::InvalidArgument => "argument does not fit the command's grammar",
        })
    }
}

impl std::error::Error for EncodeError {}

/// Refuses text that would break out of its line.
pub(crate) fn check_line_safe(text: &[u8]) -> Result<(), EncodeError> {
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        Err(EncodeError::LineBreak)
    } else {
        Ok(())
    }
}

/// Appends `text`, doubling each 0xFF (Telnet IAC) as RFC 3659 §2.2 asks.
/// The caller has checked the text with [`check_line_safe`].
pub(crate) fn put_escaped(out: &mut BytesMut, text: &[u8]) {
    let mut rest = text;
    while let Some(at) = rest.iter().position(|&b| b == 0xFF) {
        let (before, after) = rest.split_at(at + 1);
        out.put_slice(before);
        out.put_u8(0xFF);
        rest = after;
    }
    out.put_slice(rest);
}
