//! FTP replies: [`ReplyCode`], [`Reply`], an incremental [`ReplyParser`]
//! and a serializer.
//!
//! # Shape (RFC 959 §4.2)
//!
//! A single-line reply is `DDD SP text CRLF`. A multi-line reply is
//! `DDD-text CRLF`, any number of lines, then `DDD SP text CRLF` with the
//! same code. Intermediate lines may start with anything, digits and other
//! codes included: only the same code followed by SP ends the reply.
//!
//! A [`Reply`] keeps the text of each line: for a multi-line reply, the
//! first line's text (after `DDD-`), the intermediate lines verbatim, and the
//! last line's text (after `DDD SP`).
//!
//! # What the parser accepts beyond the RFC
//!
//! Real servers bend the grammar; the parser accepts, and the tests show:
//! - a bare LF line end (as everything read through [`LineDecoder`]);
//! - a code with no text at all, `226` alone, as a single-line reply or as
//!   the last line of a multi-line one (RFC 959 needs `226 SP`);
//! - a code directly followed by text (`220Welcome`): a single-line reply
//!   with that text;
//! - intermediate lines that repeat the code with a hyphen (`211-MDTM`), as
//!   some servers write every line of FEAT: the prefix is removed;
//! - any first digit from 1 to 6 (6yz: RFC 2228 protected replies).
//!
//! A line that does not start with three digits outside a multi-line reply
//! is [`ReplyError::Malformed`].
//!
//! # Limits
//!
//! A hostile server must not grow a client's memory. Lines are capped at
//! [`ReplyParser::new`]'s `max_line` (longer ones are cut and read to their
//! end) and a whole reply at `max_reply` bytes. A reply over either limit is
//! read to its end without keeping more, then reported as
//! [`ReplyError::TooLarge`] with its code, so the caller can still act on
//! the code's class.
//!
//! # Serialization
//!
//! [`Reply::encode`] writes the single- or multi-line form and indents with
//! one SP any intermediate line that starts with a digit, so that no text can
//! end the reply early (RFC 959 §4.2). A line holding CR or LF is refused.

use crate::encode::{EncodeError, check_line_safe, put_escaped};
use crate::line::{ControlItem, LineDecoder};
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// A three-digit reply code. The first digit is 1 to 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

/// The meaning of a reply code's first digit (RFC 959 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// 1yz: positive preliminary; another reply follows.
    Preliminary,
    /// 2yz: positive completion.
    Completion,
    /// 3yz: positive intermediate; send the next command of the sequence.
    Intermediate,
    /// 4yz: transient negative; the same sequence may succeed later.
    TransientNegative,
    /// 5yz: permanent negative.
    PermanentNegative,
    /// 6yz: protected reply (RFC 2228).
    Protected,
}

/// The meaning of a reply code's second digit (RFC 959 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyCategory {
    /// x0z: syntax.
    Syntax,
    /// x1z: information.
    Information,
    /// x2z: connections.
    Connections,
    /// x3z: authentication and accounting.
    Authentication,
    /// x4z: unspecified.
    Unspecified,
    /// x5z: file system.
    FileSystem,
    /// x6z to x9z: not defined by any RFC.
    Other(u8),
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        impl ReplyCode {
            $($(#[$doc])* pub const $name: ReplyCode = ReplyCode($code);)*
        }
    };
}

codes! {
    /// 110 restart marker reply.
    RESTART_MARKER = 110,
    /// 120 service ready in nnn minutes.
    SERVICE_READY_SOON = 120,
    /// 125 data connection already open; transfer starting.
    DATA_CONNECTION_OPEN_STARTING = 125,
    /// 150 file status okay; about to open data connection.
    ABOUT_TO_OPEN_DATA_CONNECTION = 150,
    /// 200 command okay.
    COMMAND_OK = 200,
    /// 202 command not implemented, superfluous at this site.
    SUPERFLUOUS = 202,
    /// 211 system status, or FEAT.
    SYSTEM_STATUS = 211,
    /// 212 directory status.
    DIRECTORY_STATUS = 212,
    /// 213 file status (SIZE, MDTM, STAT of a file).
    FILE_STATUS = 213,
    /// 214 help message.
    HELP_MESSAGE = 214,
    /// 215 system type.
    SYSTEM_TYPE = 215,
    /// 220 service ready for new user (and HOST accepted, RFC 7151).
    SERVICE_READY = 220,
    /// 221 service closing control connection.
    CLOSING_CONTROL_CONNECTION = 221,
    /// 225 data connection open; no transfer in progress.
    DATA_CONNECTION_OPEN = 225,
    /// 226 closing data connection; transfer done or aborted.
    CLOSING_DATA_CONNECTION = 226,
    /// 227 entering passive mode.
    ENTERING_PASSIVE_MODE = 227,
    /// 229 entering extended passive mode (RFC 2428).
    ENTERING_EXTENDED_PASSIVE_MODE = 229,
    /// 230 user logged in, proceed.
    LOGGED_IN = 230,
    /// 232 user logged in, authorized by security data exchange (RFC 2228).
    LOGGED_IN_BY_SECURITY_DATA = 232,
    /// 234 security data exchange complete (AUTH TLS accepted).
    SECURITY_EXCHANGE_COMPLETE = 234,
    /// 235 security data exchange completed successfully (RFC 2228).
    SECURITY_DATA_ACCEPTED = 235,
    /// 250 requested file action okay, completed.
    FILE_ACTION_OK = 250,
    /// 257 pathname created.
    PATHNAME_CREATED = 257,
    /// 331 user name okay, need password.
    NEED_PASSWORD = 331,
    /// 332 need account for login.
    NEED_ACCOUNT = 332,
    /// 334 security mechanism accepted, ADAT needed (RFC 2228).
    SECURITY_DATA_NEEDED = 334,
    /// 335 more security data needed (RFC 2228).
    MORE_SECURITY_DATA_NEEDED = 335,
    /// 336 username okay, need password; challenge is given (RFC 2228).
    CHALLENGE = 336,
    /// 350 requested file action pending further information.
    PENDING_FURTHER_INFORMATION = 350,
    /// 421 service not available, closing control connection.
    SERVICE_NOT_AVAILABLE = 421,
    /// 425 can't open data connection.
    CANT_OPEN_DATA_CONNECTION = 425,
    /// 426 connection closed; transfer aborted.
    TRANSFER_ABORTED = 426,
    /// 431 need some unavailable resource to process security (RFC 2228).
    SECURITY_RESOURCE_UNAVAILABLE = 431,
    /// 450 requested file action not taken; file unavailable (busy).
    FILE_UNAVAILABLE = 450,
    /// 451 requested action aborted: local error in processing.
    LOCAL_ERROR = 451,
    /// 452 requested action not taken: insufficient storage space.
    INSUFFICIENT_STORAGE = 452,
    /// 500 syntax error, command unrecognized (or line too long).
    SYNTAX_ERROR = 500,
    /// 501 syntax error in parameters or arguments.
    SYNTAX_ERROR_IN_ARGUMENTS = 501,
    /// 502 command not implemented.
    NOT_IMPLEMENTED = 502,
    /// 503 bad sequence of commands.
    BAD_SEQUENCE = 503,
    /// 504 command not implemented for that parameter.
    PARAMETER_NOT_IMPLEMENTED = 504,
    /// 521 data connection cannot be opened with this PROT setting
    /// (RFC 4217 §10.2).
    PROTECTION_LEVEL_REFUSED = 521,
    /// 522 network protocol not supported (RFC 2428), or the TLS
    /// negotiation on the data connection failed (RFC 4217 §10.2).
    NETWORK_PROTOCOL_NOT_SUPPORTED = 522,
    /// 530 not logged in.
    NOT_LOGGED_IN = 530,
    /// 532 need account for storing files.
    NEED_ACCOUNT_FOR_STORING = 532,
    /// 533 command protection level denied for policy reasons (RFC 2228).
    COMMAND_PROTECTION_DENIED = 533,
    /// 534 request denied for policy reasons (RFC 2228).
    POLICY_DENIED = 534,
    /// 535 failed security check (RFC 2228).
    SECURITY_CHECK_FAILED = 535,
    /// 536 data protection level not supported by security mechanism
    /// (RFC 2228).
    PROTECTION_LEVEL_NOT_SUPPORTED = 536,
    /// 537 command protection level not supported by security mechanism
    /// (RFC 2228).
    COMMAND_PROTECTION_NOT_SUPPORTED = 537,
    /// 550 requested action not taken; file unavailable (not found, no
    /// access).
    FILE_NOT_AVAILABLE = 550,
    /// 551 requested action aborted: page type unknown.
    PAGE_TYPE_UNKNOWN = 551,
    /// 552 requested file action aborted: exceeded storage allocation.
    STORAGE_ALLOCATION_EXCEEDED = 552,
    /// 553 requested action not taken: file name not allowed.
    FILE_NAME_NOT_ALLOWED = 553,
    /// 554 requested action not taken: invalid REST parameter (RFC 3659
    /// §5.4); also a RANG past the end of the file.
    INVALID_RESTART = 554,
    /// 631 integrity protected reply (RFC 2228).
    INTEGRITY_PROTECTED = 631,
    /// 632 confidentiality and integrity protected reply (RFC 2228).
    CONFIDENTIALITY_PROTECTED = 632,
    /// 633 confidentiality protected reply (RFC 2228).
    PRIVACY_PROTECTED = 633,
}

impl ReplyCode {
    /// A code from its number: three digits, the first from 1 to 6.
    pub const fn new(code: u16) -> Option<ReplyCode> {
        if code >= 100 && code <= 699 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// Reads a code from three ASCII digits.
    pub fn from_digits(digits: [u8; 3]) -> Option<ReplyCode> {
        let [a, b, c] = digits;
        if !(b'1'..=b'6').contains(&a) || !b.is_ascii_digit() || !c.is_ascii_digit() {
            return None;
        }
        ReplyCode::new(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
    }

    /// The code as a number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The code as three ASCII digits.
    pub fn digits(self) -> [u8; 3] {
        let n = self.0;
        // Each digit is below 10, so the casts cannot truncate.
        [
            b'0' + (n / 100 % 10) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ]
    }

    /// The class given by the first digit.
    pub fn class(self) -> ReplyClass {
        match self.0 / 100 {
            1 => ReplyClass::Preliminary,
            2 => ReplyClass::Completion,
            3 => ReplyClass::Intermediate,
            4 => ReplyClass::TransientNegative,
            5 => ReplyClass::PermanentNegative,
            _ => ReplyClass::Protected,
        }
    }

    /// The category given by the second digit.
    pub fn category(self) -> ReplyCategory {
        match self.0 / 10 % 10 {
            0 => ReplyCategory::Syntax,
            1 => ReplyCategory::Information,
            2 => ReplyCategory::Connections,
            3 => ReplyCategory::Authentication,
            4 => ReplyCategory::Unspecified,
            5 => ReplyCategory::FileSystem,
            // Below 10, so the cast cannot truncate.
            other => ReplyCategory::Other(other as u8),
        }
    }

    /// 1yz: another reply follows.
    pub fn is_preliminary(self) -> bool {
        self.class() == ReplyClass::Preliminary
    }

    /// 2yz.
    pub fn is_completion(self) -> bool {
        self.class() == ReplyClass::Completion
    }

    /// 3yz.
    pub fn is_intermediate(self) -> bool {
        self.class() == ReplyClass::Intermediate
    }

    /// 4yz or 5yz.
    pub fn is_negative(self) -> bool {
        matches!(
            self.class(),
            ReplyClass::TransientNegative | ReplyClass::PermanentNegative
        )
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One reply: a code and the text of each of its lines (see the
/// [module docs](self) for what each line holds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    /// The reply code.
    pub code: ReplyCode,
    /// The text of each line; one entry for a single-line reply.
    pub lines: Vec<Bytes>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: ReplyCode, text: impl Into<Bytes>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A reply with the given lines: multi-line when there are two or more.
    pub fn multiline(code: ReplyCode, lines: Vec<Bytes>) -> Reply {
        Reply { code, lines }
    }

    /// The text of the first line.
    pub fn first_line(&self) -> &[u8] {
        self.lines.first().map_or(&[], |line| line)
    }

    /// Appends the reply's wire form to `out`. An empty `lines` is written as
    /// one empty line. Nothing is written on error.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        for line in &self.lines {
            check_line_safe(line)?;
        }
        let code = self.code.digits();
        match self.lines.as_slice() {
            [] => {
                out.put_slice(&code);
                out.put_slice(b" \r\n");
            }
            [only] => {
                out.put_slice(&code);
                out.put_u8(b' ');
                put_escaped(out, only);
                out.put_slice(b"\r\n");
            }
            [first, middle @ .., last] => {
                out.put_slice(&code);
                out.put_u8(b'-');
                put_escaped(out, first);
                out.put_slice(b"\r\n");
                for line in middle {
                    if line.first().is_some_and(u8::is_ascii_digit) {
                        out.put_u8(b' ');
                    }
                    put_escaped(out, line);
                    out.put_slice(b"\r\n");
                }
                out.put_slice(&code);
                out.put_u8(b' ');
                put_escaped(out, last);
                out.put_slice(b"\r\n");
            }
        }
        Ok(())
    }

    /// The reply's wire form.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }
}

impl fmt::Display for Reply {
    /// The code and the lines' text, lossily decoded, joined by newlines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for (n, line) in self.lines.iter().enumerate() {
            let separator = if n == 0 { " " } else { "\n" };
            write!(f, "{separator}{}", String::from_utf8_lossy(line))?;
        }
        Ok(())
    }
}

/// Why the parser could not produce a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line that does not start with a reply code, outside a multi-line
    /// reply. Holds the line, cut at the line limit.
    Malformed(Bytes),
    /// A reply over the line or reply limit. It was read to its end and
    /// dropped; the code is kept.
    TooLarge {
        /// The reply's code.
        code: ReplyCode,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Malformed(line) => {
                write!(
                    f,
                    "malformed reply line {:?}",
                    String::from_utf8_lossy(line)
                )
            }
            ReplyError::TooLarge { code } => write!(f, "reply {code} over the size limit"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// The line limit a [`ReplyParser`] uses by default.
pub const DEFAULT_MAX_REPLY_LINE: usize = 8 * 1024;
/// The whole-reply limit a [`ReplyParser`] uses by default. Generous enough
/// for STAT of a large directory over the control connection.
pub const DEFAULT_MAX_REPLY: usize = 1024 * 1024;

/// A multi-line reply being read.
#[derive(Debug, Clone)]
struct Pending {
    code: ReplyCode,
    lines: Vec<Bytes>,
    size: usize,
    too_large: bool,
}

/// Incremental reply parser: bytes in any split, replies out.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    decoder: LineDecoder,
    pending: Option<Pending>,
    max_reply: usize,
}

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_REPLY_LINE, DEFAULT_MAX_REPLY)
    }
}

/// Splits a line into its code and what follows the three digits.
fn split_code(line: &Bytes) -> Option<(ReplyCode, Bytes)> {
    let (&[a, b, c], _) = line.split_first_chunk::<3>()?;
    let code = ReplyCode::from_digits([a, b, c])?;
    Some((code, line.slice(3..)))
}

impl ReplyParser {
    /// A parser that cuts lines at `max_line` bytes and refuses replies over
    /// `max_reply` bytes.
    pub fn new(max_line: usize, max_reply: usize) -> ReplyParser {
        ReplyParser {
            decoder: LineDecoder::new(max_line),
            pending: None,
            max_reply,
        }
    }

    /// Stores received bytes. Bytes may be split anywhere.
    pub fn push(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
    }

    /// Bytes received and not yet read as replies.
    pub fn buffered(&self) -> usize {
        self.decoder.buffered()
    }

    /// Whether a reply has been started and not finished, or bytes wait.
    pub fn is_mid_reply(&self) -> bool {
        self.pending.is_some() || self.decoder.has_partial_line()
    }

    /// Parses up to the end of the next reply; `None` when the stored bytes
    /// do not complete one. Telnet negotiation from a server is ignored (a
    /// client must not negotiate, RFC 1123 §4.1.2.12).
    pub fn next_reply(&mut self) -> Option<Result<Reply, ReplyError>> {
        loop {
            let (line, cut) = match self.decoder.next_item()? {
                ControlItem::Line(line) => (line, false),
                ControlItem::TooLong { prefix } => (prefix, true),
                ControlItem::TelnetReply(_) => continue,
            };
            if let Some(done) = self.line(line, cut) {
                return Some(done);
            }
        }
    }

    fn line(&mut self, line: Bytes, cut: bool) -> Option<Result<Reply, ReplyError>> {
        let Some(pending) = &mut self.pending else {
            let Some((code, rest)) = split_code(&line) else {
                return Some(Err(ReplyError::Malformed(line)));
            };
            if rest.first() == Some(&b'-') {
                self.pending = Some(Pending {
                    code,
                    size: line.len(),
                    too_large: cut || line.len() > self.max_reply,
                    lines: vec![rest.slice(1..)],
                });
                return None;
            }
            if cut {
                return Some(Err(ReplyError::TooLarge { code }));
            }
            let text = if rest.first() == Some(&b' ') {
                rest.slice(1..)
            } else {
                rest
            };
            return Some(Ok(Reply::new(code, text)));
        };

        pending.size = pending.size.saturating_add(line.len());
        pending.too_large |= cut || pending.size > self.max_reply;
        if pending.too_large {
            // Keep reading to the end of the reply, but keep nothing more.
            pending.lines = Vec::new();
        }
        let same_code = split_code(&line).filter(|(code, _)| *code == pending.code);
        match same_code {
            Some((_, rest)) if matches!(rest.first(), None | Some(b' ')) => {
                let pending = self.pending.take()?;
                if pending.too_large {
                    return Some(Err(ReplyError::TooLarge { code: pending.code }));
                }
                let mut lines = pending.lines;
                lines.push(rest.slice(rest.len().min(1)..));
                Some(Ok(Reply::multiline(pending.code, lines)))
            }
            Some((_, rest)) if rest.first() == Some(&b'-') => {
                if !pending.too_large {
                    pending.lines.push(rest.slice(1..));
                }
                None
            }
            _ => {
                if !pending.too_large {
                    pending.lines.push(line);
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
