//! FTP commands: the [`Command`] type, its parser and its serializer.
//!
//! # Grammar
//!
//! A command line is a verb, then optionally **one** SP and an argument that
//! runs to the end of the line (RFC 959 §5.3; RFC 2640 §3.1 and RFC 3659
//! §2.2 make the single SP exact). Verbs are matched case-insensitively, and
//! so are the letters of typed arguments (`type a n`). Pathname arguments are
//! kept verbatim, spaces included: `STOR   x` names the file `"  x"`.
//! Typed, non-pathname arguments (numbers, addresses, letters) tolerate
//! surrounding spaces.
//!
//! # Errors
//!
//! [`CommandError`] tells apart what a server answers differently:
//! an unknown verb (500), a missing, unexpected or malformed argument (501),
//! a well-formed parameter the protocol defines but that is not offered
//! (504), and an EPRT network protocol other than IPv4 and IPv6 (522, RFC
//! 2428 §2). [`CommandError::reply_code`] gives the code.
//!
//! # Serialization
//!
//! [`Command::encode`] writes the wire form, doubling 0xFF bytes, and
//! refuses with an [`EncodeError`] (writing nothing) any argument holding
//! CR or LF, and any required argument that is empty.

use crate::encode::{EncodeError, check_line_safe, put_escaped};
use crate::hostport;
use crate::reply::ReplyCode;
use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while_m_n};
use nom::character::complete::{
    char, space0, space1, u8 as decimal_u8, u16 as decimal_u16, u32 as decimal_u32,
    u64 as decimal_u64,
};
use nom::combinator::{all_consuming, map, opt, value};
use nom::sequence::{preceded, terminated};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

macro_rules! verbs {
    ($($(#[$doc:meta])* $name:ident = $text:literal,)*) => {
        /// A command verb, as the standards spell it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Verb {
            $($(#[$doc])* $name,)*
        }

        impl Verb {
            /// Every verb this crate knows.
            pub const ALL: &'static [Verb] = &[$(Verb::$name,)*];

            /// The verb in upper case, as it goes on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Verb::$name => $text,)*
                }
            }

            /// Looks a verb up case-insensitively.
            pub fn from_bytes(verb: &[u8]) -> Option<Verb> {
                let mut upper = [0u8; 4];
                if verb.len() > upper.len() {
                    return None;
                }
                for (slot, byte) in upper.iter_mut().zip(verb) {
                    *slot = byte.to_ascii_uppercase();
                }
                let upper = upper.get(..verb.len())?;
                $(if upper == $text.as_bytes() {
                    return Some(Verb::$name);
                })*
                None
            }
        }
    };
}

verbs! {
    /// User name (RFC 959).
    User = "USER",
    /// Password (RFC 959).
    Pass = "PASS",
    /// Account (RFC 959).
    Acct = "ACCT",
    /// Change working directory (RFC 959).
    Cwd = "CWD",
    /// Change working directory, old form (RFC 775, RFC 1123 §4.1.3.1).
    Xcwd = "XCWD",
    /// Change to parent directory (RFC 959).
    Cdup = "CDUP",
    /// Change to parent directory, old form.
    Xcup = "XCUP",
    /// Structure mount (RFC 959).
    Smnt = "SMNT",
    /// Reinitialize (RFC 959).
    Rein = "REIN",
    /// Logout (RFC 959).
    Quit = "QUIT",
    /// Data port (RFC 959).
    Port = "PORT",
    /// Passive (RFC 959).
    Pasv = "PASV",
    /// Extended data port (RFC 2428).
    Eprt = "EPRT",
    /// Extended passive (RFC 2428).
    Epsv = "EPSV",
    /// Representation type (RFC 959).
    Type = "TYPE",
    /// File structure (RFC 959).
    Stru = "STRU",
    /// Transfer mode (RFC 959).
    Mode = "MODE",
    /// Allocate (RFC 959).
    Allo = "ALLO",
    /// Restart (RFC 959, RFC 3659 §5).
    Rest = "REST",
    /// Retrieve (RFC 959).
    Retr = "RETR",
    /// Store (RFC 959).
    Stor = "STOR",
    /// Store unique (RFC 959, RFC 1123 §4.1.2.9).
    Stou = "STOU",
    /// Append (RFC 959).
    Appe = "APPE",
    /// Rename from (RFC 959).
    Rnfr = "RNFR",
    /// Rename to (RFC 959).
    Rnto = "RNTO",
    /// Abort (RFC 959).
    Abor = "ABOR",
    /// Delete (RFC 959).
    Dele = "DELE",
    /// Remove directory (RFC 959).
    Rmd = "RMD",
    /// Remove directory, old form.
    Xrmd = "XRMD",
    /// Make directory (RFC 959).
    Mkd = "MKD",
    /// Make directory, old form.
    Xmkd = "XMKD",
    /// Print working directory (RFC 959).
    Pwd = "PWD",
    /// Print working directory, old form.
    Xpwd = "XPWD",
    /// List (RFC 959).
    List = "LIST",
    /// Name list (RFC 959).
    Nlst = "NLST",
    /// Site parameters (RFC 959).
    Site = "SITE",
    /// System (RFC 959).
    Syst = "SYST",
    /// Status (RFC 959).
    Stat = "STAT",
    /// Help (RFC 959).
    Help = "HELP",
    /// No operation (RFC 959).
    Noop = "NOOP",
    /// Feature list (RFC 2389).
    Feat = "FEAT",
    /// Options (RFC 2389).
    Opts = "OPTS",
    /// File size (RFC 3659).
    Size = "SIZE",
    /// Modification time (RFC 3659).
    Mdtm = "MDTM",
    /// Set a file's modification time (draft-somers-ftp-mfxx).
    Mfmt = "MFMT",
    /// A file's digest (draft-bryan-ftpext-hash).
    Hash = "HASH",
    /// The byte range of the next HASH (draft-bryan-ftp-range).
    Rang = "RANG",
    /// Machine listing of one object (RFC 3659).
    Mlst = "MLST",
    /// Machine listing of a directory (RFC 3659).
    Mlsd = "MLSD",
    /// Authentication / security mechanism (RFC 2228, RFC 4217).
    Auth = "AUTH",
    /// Authentication / security data (RFC 2228).
    Adat = "ADAT",
    /// Protection buffer size (RFC 2228).
    Pbsz = "PBSZ",
    /// Data channel protection level (RFC 2228).
    Prot = "PROT",
    /// Clear command channel (RFC 2228).
    Ccc = "CCC",
    /// Integrity-protected command (RFC 2228).
    Mic = "MIC",
    /// Confidentiality-protected command (RFC 2228).
    Conf = "CONF",
    /// Privacy-protected command (RFC 2228).
    Enc = "ENC",
    /// Virtual host (RFC 7151).
    Host = "HOST",
    /// Language negotiation (RFC 2640).
    Lang = "LANG",
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password: bytes whose `Debug` form never shows them, so that logging a
/// [`Command`] cannot leak one.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Password(pub Bytes);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The format control of TYPE A and TYPE E (RFC 959 §3.1.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextFormat {
    /// `N`: non-print, the default.
    NonPrint,
    /// `T`: Telnet format effectors.
    Telnet,
    /// `C`: ASA carriage control.
    CarriageControl,
}

impl TextFormat {
    fn letter(self) -> char {
        match self {
            TextFormat::NonPrint => 'N',
            TextFormat::Telnet => 'T',
            TextFormat::CarriageControl => 'C',
        }
    }
}

/// The argument of TYPE (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferType {
    /// `A [N|T|C]`: ASCII, with the format control if one was given.
    Ascii(Option<TextFormat>),
    /// `E [N|T|C]`: EBCDIC.
    Ebcdic(Option<TextFormat>),
    /// `I`: image (binary).
    Image,
    /// `L <n>`: local byte size `n`; `L 8` is the same as `I`
    /// (RFC 1123 §4.1.2.1).
    Local(u8),
}

impl fmt::Display for TransferType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (letter, format) = match self {
            TransferType::Ascii(format) => ('A', format),
            TransferType::Ebcdic(format) => ('E', format),
            TransferType::Image => return f.write_str("I"),
            TransferType::Local(size) => return write!(f, "L {size}"),
        };
        match format {
            Some(format) => write!(f, "{letter} {}", format.letter()),
            None => write!(f, "{letter}"),
        }
    }
}

/// The argument of STRU (RFC 959 §3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileStructure {
    /// `F`: no record structure.
    File,
    /// `R`: record structure.
    Record,
    /// `P`: page structure.
    Page,
}

/// The argument of MODE (RFC 959 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferMode {
    /// `S`: stream.
    Stream,
    /// `B`: block.
    Block,
    /// `C`: compressed.
    Compressed,
}

/// The argument of EPSV (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpsvArgument {
    /// A network protocol number: 1 for IPv4, 2 for IPv6; others are
    /// answered 522.
    Protocol(u16),
    /// `ALL`: from now on, refuse PORT, PASV and EPRT.
    All,
}

/// The mechanism named by AUTH (RFC 2228 §3, RFC 4217 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthMechanism {
    /// `TLS`.
    Tls,
    /// `TLS-C`, a synonym of `TLS` (RFC 4217 §17).
    TlsC,
    /// `TLS-P`: TLS with PROT P (vsftpd accepts it).
    TlsP,
    /// `SSL`: an old name for TLS (vsftpd accepts it).
    Ssl,
    /// Any other mechanism, as received.
    Other(Bytes),
}

impl AuthMechanism {
    fn name(&self) -> &[u8] {
        match self {
            AuthMechanism::Tls => b"TLS",
            AuthMechanism::TlsC => b"TLS-C",
            AuthMechanism::TlsP => b"TLS-P",
            AuthMechanism::Ssl => b"SSL",
            AuthMechanism::Other(name) => name,
        }
    }
}

/// The argument of PROT (RFC 2228 §3, RFC 4217 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtectionLevel {
    /// `C`: clear.
    Clear,
    /// `S`: safe (integrity only).
    Safe,
    /// `E`: confidential.
    Confidential,
    /// `P`: private (integrity and confidentiality).
    Private,
}

/// The argument of HOST (RFC 7151 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostName {
    /// A domain name, as received (letters, digits, `-` and `.`).
    Domain(String),
    /// An IPv4 address in dotted-decimal form.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written in brackets on the wire.
    Ipv6(Ipv6Addr),
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostName::Domain(name) => f.write_str(name),
            HostName::Ipv4(addr) => write!(f, "{addr}"),
            HostName::Ipv6(addr) => write!(f, "[{addr}]"),
        }
    }
}

/// One FTP command with its typed argument.
///
/// Pathnames and other free-form arguments are [`Bytes`]: they may hold any
/// byte but CR and LF. The old `X` forms of five commands (RFC 1123
/// §4.1.3.1) are variants of their own, so that a command serializes back to
/// the verb it was received with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
// Exhaustive on purpose: a variant added later must fail to compile
// wherever it is not handled, rather than fall into a wildcard arm.
pub enum Command {
    /// `USER <name>`.
    User(Bytes),
    /// `PASS [<password>]`; a missing password is read as an empty one.
    Pass(Password),
    /// `ACCT <account>`.
    Acct(Bytes),
    /// `CWD <path>`.
    Cwd(Bytes),
    /// `XCWD <path>`.
    Xcwd(Bytes),
    /// `CDUP`.
    Cdup,
    /// `XCUP`.
    Xcup,
    /// `SMNT <path>`.
    Smnt(Bytes),
    /// `REIN`.
    Rein,
    /// `QUIT`.
    Quit,
    /// `PORT h1,h2,h3,h4,p1,p2`.
    Port(SocketAddrV4),
    /// `PASV`.
    Pasv,
    /// `EPRT |1|addr|port|` or `|2|…`.
    Eprt(SocketAddr),
    /// `EPSV [1|2|ALL]`.
    Epsv(Option<EpsvArgument>),
    /// `TYPE <type>`.
    Type(TransferType),
    /// `STRU F|R|P`.
    Stru(FileStructure),
    /// `MODE S|B|C`.
    Mode(TransferMode),
    /// `ALLO <size> [R <record size>]`.
    Allo {
        /// Bytes to reserve.
        size: u64,
        /// Largest record or page size, if given.
        record_size: Option<u64>,
    },
    /// `REST <offset>`, the stream-mode restart marker (RFC 3659 §5).
    Rest(u64),
    /// `RETR <path>`.
    Retr(Bytes),
    /// `STOR <path>`.
    Stor(Bytes),
    /// `STOU [<base>]`; RFC 959 has no argument, some servers take one.
    Stou(Option<Bytes>),
    /// `APPE <path>`.
    Appe(Bytes),
    /// `RNFR <path>`.
    Rnfr(Bytes),
    /// `RNTO <path>`.
    Rnto(Bytes),
    /// `ABOR`.
    Abor,
    /// `DELE <path>`.
    Dele(Bytes),
    /// `RMD <path>`.
    Rmd(Bytes),
    /// `XRMD <path>`.
    Xrmd(Bytes),
    /// `MKD <path>`.
    Mkd(Bytes),
    /// `XMKD <path>`.
    Xmkd(Bytes),
    /// `PWD`.
    Pwd,
    /// `XPWD`.
    Xpwd,
    /// `LIST [<path>]`; the argument may hold `ls`-style flags such as `-la`.
    List(Option<Bytes>),
    /// `NLST [<path>]`.
    Nlst(Option<Bytes>),
    /// `SITE <string>`.
    Site(Bytes),
    /// `SYST`.
    Syst,
    /// `STAT [<path>]`.
    Stat(Option<Bytes>),
    /// `HELP [<string>]`.
    Help(Option<Bytes>),
    /// `NOOP`.
    Noop,
    /// `FEAT`.
    Feat,
    /// `OPTS <command> [<options>]` (RFC 2389 §4).
    Opts {
        /// The command whose options are set, as received.
        command: Bytes,
        /// The options, verbatim.
        options: Option<Bytes>,
    },
    /// `SIZE <path>`.
    Size(Bytes),
    /// `MDTM <path>`.
    Mdtm(Bytes),
    /// MFMT: `YYYYMMDDHHMMSS path`, set as one argument.
    Mfmt(Bytes),
    /// `HASH <path>`.
    Hash(Bytes),
    /// `RANG <start> <end>`: bytes `start..=end`; `RANG 1 0` resets.
    Rang {
        /// The first byte.
        start: u64,
        /// The last byte, included.
        end: u64,
    },
    /// `MLST [<path>]`.
    Mlst(Option<Bytes>),
    /// `MLSD [<path>]`.
    Mlsd(Option<Bytes>),
    /// `AUTH <mechanism>`.
    Auth(AuthMechanism),
    /// `ADAT <base64 data>`.
    Adat(Bytes),
    /// `PBSZ <size>`.
    Pbsz(u32),
    /// `PROT C|S|E|P`.
    Prot(ProtectionLevel),
    /// `CCC`.
    Ccc,
    /// `MIC <base64 data>`.
    Mic(Bytes),
    /// `CONF <base64 data>`.
    Conf(Bytes),
    /// `ENC <base64 data>`.
    Enc(Bytes),
    /// `HOST <host>`.
    Host(HostName),
    /// `LANG [<language tag>]`.
    Lang(Option<String>),
}

/// Why a command line could not be parsed. Each kind maps to the reply a
/// server gives ([`CommandError::reply_code`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The line is empty.
    Empty,
    /// The verb is not a command this crate knows. Holds the verb as
    /// received.
    Unknown(Bytes),
    /// The command requires an argument and has none.
    MissingArgument(Verb),
    /// The command takes no argument and got one.
    UnexpectedArgument(Verb),
    /// The argument does not fit the command's grammar.
    InvalidArgument(Verb),
    /// The argument is well-formed but names a parameter the protocol
    /// defines and this implementation does not offer, or one it does not
    /// know (an unknown TYPE letter, an unknown PROT level).
    UnsupportedParameter(Verb),
    /// EPRT named a network protocol other than 1 (IPv4) and 2 (IPv6).
    UnsupportedNetworkProtocol,
}

impl CommandError {
    /// The reply code a server answers this error with.
    pub fn reply_code(&self) -> ReplyCode {
        match self {
            CommandError::Empty | CommandError::Unknown(_) => ReplyCode::SYNTAX_ERROR,
            CommandError::MissingArgument(_)
            | CommandError::UnexpectedArgument(_)
            | CommandError::InvalidArgument(_) => ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
            CommandError::UnsupportedParameter(_) => ReplyCode::PARAMETER_NOT_IMPLEMENTED,
            CommandError::UnsupportedNetworkProtocol => ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED,
        }
    }

    /// The verb the error is about, when it is a known one.
    pub fn verb(&self) -> Option<Verb> {
        match self {
            CommandError::Empty | CommandError::Unknown(_) => None,
            CommandError::MissingArgument(verb)
            | CommandError::UnexpectedArgument(verb)
            | CommandError::InvalidArgument(verb)
            | CommandError::UnsupportedParameter(verb) => Some(*verb),
            CommandError::UnsupportedNetworkProtocol => Some(Verb::Eprt),
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => f.write_str("empty command line"),
            CommandError::Unknown(verb) => {
                write!(f, "unknown command {:?}", String::from_utf8_lossy(verb))
            }
            CommandError::MissingArgument(verb) => write!(f, "{verb} needs an argument"),
            CommandError::UnexpectedArgument(verb) => write!(f, "{verb} takes no argument"),
            CommandError::InvalidArgument(verb) => write!(f, "malformed argument to {verb}"),
            CommandError::UnsupportedParameter(verb) => {
                write!(f, "{verb} parameter not implemented")
            }
            CommandError::UnsupportedNetworkProtocol => {
                f.write_str("network protocol not supported, use (1,2)")
            }
        }
    }
}

impl std::error::Error for CommandError {}

/// What the argument of one command looks like on the wire.
enum Argument<'a> {
    None,
    /// Must be present and non-empty.
    Required(&'a [u8]),
    /// Written only when present and non-empty.
    Optional(Option<&'a [u8]>),
    /// A typed argument, formatted.
    Formatted(String),
    /// An argument assembled from several parts.
    Owned(Vec<u8>),
}

impl Command {
    /// Parses one control line (without its line end, as
    /// [`LineDecoder`](crate::LineDecoder) yields it). Free-form arguments are
    /// slices of `line`, not copies.
    pub fn parse(line: Bytes) -> Result<Command, CommandError> {
        if line.is_empty() {
            return Err(CommandError::Empty);
        }
        let (verb_bytes, argument) = match line.iter().position(|&b| b == b' ') {
            Some(at) => (line.slice(..at), Some(line.slice(at + 1..))),
            None => (line.clone(), None),
        };
        let verb = Verb::from_bytes(&verb_bytes).ok_or(CommandError::Unknown(verb_bytes))?;
        let argument = argument.filter(|a| !a.is_empty());
        parse_argument(verb, argument)
    }

    /// Parses one control line from a slice, copying it.
    pub fn parse_slice(line: &[u8]) -> Result<Command, CommandError> {
        Command::parse(Bytes::copy_from_slice(line))
    }

    /// The command's verb.
    pub fn verb(&self) -> Verb {
        match self {
            Command::User(_) => Verb::User,
            Command::Pass(_) => Verb::Pass,
            Command::Acct(_) => Verb::Acct,
            Command::Cwd(_) => Verb::Cwd,
            Command::Xcwd(_) => Verb::Xcwd,
            Command::Cdup => Verb::Cdup,
            Command::Xcup => Verb::Xcup,
            Command::Smnt(_) => Verb::Smnt,
            Command::Rein => Verb::Rein,
            Command::Quit => Verb::Quit,
            Command::Port(_) => Verb::Port,
            Command::Pasv => Verb::Pasv,
            Command::Eprt(_) => Verb::Eprt,
            Command::Epsv(_) => Verb::Epsv,
            Command::Type(_) => Verb::Type,
            Command::Stru(_) => Verb::Stru,
            Command::Mode(_) => Verb::Mode,
            Command::Allo { .. } => Verb::Allo,
            Command::Rest(_) => Verb::Rest,
            Command::Retr(_) => Verb::Retr,
            Command::Stor(_) => Verb::Stor,
            Command::Stou(_) => Verb::Stou,
            Command::Appe(_) => Verb::Appe,
            Command::Rnfr(_) => Verb::Rnfr,
            Command::Rnto(_) => Verb::Rnto,
            Command::Abor => Verb::Abor,
            Command::Dele(_) => Verb::Dele,
            Command::Rmd(_) => Verb::Rmd,
            Command::Xrmd(_) => Verb::Xrmd,
            Command::Mkd(_) => Verb::Mkd,
            Command::Xmkd(_) => Verb::Xmkd,
            Command::Pwd => Verb::Pwd,
            Command::Xpwd => Verb::Xpwd,
            Command::List(_) => Verb::List,
            Command::Nlst(_) => Verb::Nlst,
            Command::Site(_) => Verb::Site,
            Command::Syst => Verb::Syst,
            Command::Stat(_) => Verb::Stat,
            Command::Help(_) => Verb::Help,
            Command::Noop => Verb::Noop,
            Command::Feat => Verb::Feat,
            Command::Opts { .. } => Verb::Opts,
            Command::Size(_) => Verb::Size,
            Command::Mdtm(_) => Verb::Mdtm,
            Command::Mfmt(_) => Verb::Mfmt,
            Command::Hash(_) => Verb::Hash,
            Command::Rang { .. } => Verb::Rang,
            Command::Mlst(_) => Verb::Mlst,
            Command::Mlsd(_) => Verb::Mlsd,
            Command::Auth(_) => Verb::Auth,
            Command::Adat(_) => Verb::Adat,
            Command::Pbsz(_) => Verb::Pbsz,
            Command::Prot(_) => Verb::Prot,
            Command::Ccc => Verb::Ccc,
            Command::Mic(_) => Verb::Mic,
            Command::Conf(_) => Verb::Conf,
            Command::Enc(_) => Verb::Enc,
            Command::Host(_) => Verb::Host,
            Command::Lang(_) => Verb::Lang,
        }
    }

    fn argument(&self) -> Result<Argument<'_>, EncodeError> {
        Ok(match self {
            Command::Cdup
            | Command::Xcup
            | Command::Rein
            | Command::Quit
            | Command::Pasv
            | Command::Abor
            | Command::Pwd
            | Command::Xpwd
            | Command::Syst
            | Command::Noop
            | Command::Feat
            | Command::Ccc => Argument::None,
            Command::User(a)
            | Command::Acct(a)
            | Command::Cwd(a)
            | Command::Xcwd(a)
            | Command::Smnt(a)
            | Command::Retr(a)
            | Command::Stor(a)
            | Command::Appe(a)
            | Command::Rnfr(a)
            | Command::Rnto(a)
            | Command::Dele(a)
            | Command::Rmd(a)
            | Command::Xrmd(a)
            | Command::Mkd(a)
            | Command::Xmkd(a)
            | Command::Site(a)
            | Command::Size(a)
            | Command::Mdtm(a)
            | Command::Mfmt(a)
            | Command::Hash(a)
            | Command::Adat(a)
            | Command::Mic(a)
            | Command::Conf(a)
            | Command::Enc(a) => Argument::Required(a),
            Command::Pass(Password(a)) => Argument::Optional(Some(a)),
            Command::Stou(a)
            | Command::List(a)
            | Command::Nlst(a)
            | Command::Stat(a)
            | Command::Help(a)
            | Command::Mlst(a)
            | Command::Mlsd(a) => Argument::Optional(a.as_deref()),
            Command::Port(addr) => Argument::Formatted(hostport::format_host_port(*addr)),
            Command::Eprt(addr) => Argument::Formatted(hostport::format_eprt(*addr)),
            Command::Epsv(None) => Argument::None,
            Command::Epsv(Some(EpsvArgument::All)) => Argument::Formatted("ALL".into()),
            Command::Epsv(Some(EpsvArgument::Protocol(n))) => Argument::Formatted(n.to_string()),
            Command::Type(t) => Argument::Formatted(t.to_string()),
            Command::Stru(s) => Argument::Formatted(
                match s {
                    FileStructure::File => "F",
                    FileStructure::Record => "R",
                    FileStructure::Page => "P",
                }
                .into(),
            ),
            Command::Mode(m) => Argument::Formatted(
                match m {
                    TransferMode::Stream => "S",
                    TransferMode::Block => "B",
                    TransferMode::Compressed => "C",
                }
                .into(),
            ),
            Command::Allo {
                size,
                record_size: None,
            } => Argument::Formatted(size.to_string()),
            Command::Allo {
                size,
                record_size: Some(record),
            } => Argument::Formatted(format!("{size} R {record}")),
            Command::Rest(offset) => Argument::Formatted(offset.to_string()),
            Command::Rang { start, end } => Argument::Formatted(format!("{start} {end}")),
            Command::Opts { command, options } => {
                if command.is_empty() || command.contains(&b' ') {
                    return Err(EncodeError::InvalidArgument);
                }
                match options.as_deref().filter(|o| !o.is_empty()) {
                    None => Argument::Required(command),
                    Some(options) => {
                        let mut both = Vec::with_capacity(command.len() + 1 + options.len());
                        both.extend_from_slice(command);
                        both.push(b' ');
                        both.extend_from_slice(options);
                        Argument::Owned(both)
                    }
                }
            }
            Command::Auth(mechanism) => Argument::Required(mechanism.name()),
            Command::Pbsz(size) => Argument::Formatted(size.to_string()),
            Command::Prot(level) => Argument::Formatted(
                match level {
                    ProtectionLevel::Clear => "C",
                    ProtectionLevel::Safe => "S",
                    ProtectionLevel::Confidential => "E",
                    ProtectionLevel::Private => "P",
                }
                .into(),
            ),
            Command::Host(host) => {
                if let HostName::Domain(name) = host
                    && !is_domain_name(name.as_bytes())
                {
                    return Err(EncodeError::InvalidArgument);
                }
                Argument::Formatted(host.to_string())
            }
            Command::Lang(None) => Argument::None,
            Command::Lang(Some(tag)) => {
                if !is_language_tag(tag.as_bytes()) {
                    return Err(EncodeError::InvalidArgument);
                }
                Argument::Formatted(tag.clone())
            }
        })
    }

    /// Appends the command's wire form, CRLF included, to `out`. Nothing is
    /// written on error.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let argument: Option<std::borrow::Cow<'_, [u8]>> = match self.argument()? {
            Argument::None => None,
            Argument::Required([]) => return Err(EncodeError::EmptyArgument),
            Argument::Required(a) => Some(a.into()),
            Argument::Optional(a) => a.filter(|a| !a.is_empty()).map(Into::into),
            Argument::Formatted(a) => Some(a.into_bytes().into()),
            Argument::Owned(a) => Some(a.into()),
        };
        if let Some(argument) = &argument {
            check_line_safe(argument)?;
        }
        out.put_slice(self.verb().as_str().as_bytes());
        if let Some(argument) = &argument {
            out.put_u8(b' ');
            put_escaped(out, argument);
        }
        out.put_slice(b"\r\n");
        Ok(())
    }

    /// The command's wire form, CRLF included.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }
}

type NomResult<'a, T> = nom::IResult<&'a [u8], T>;

/// Runs a nom parser over a whole typed argument, spaces around it allowed.
fn typed<'a, T>(
    argument: &'a [u8],
    parser: impl Parser<&'a [u8], Output = T, Error = nom::error::Error<&'a [u8]>>,
) -> Option<T> {
    all_consuming(terminated(preceded(space0, parser), space0))
        .parse(argument)
        .ok()
        .map(|(_, value)| value)
}

fn parse_argument(verb: Verb, argument: Option<Bytes>) -> Result<Command, CommandError> {
    let required = |argument: Option<Bytes>| argument.ok_or(CommandError::MissingArgument(verb));
    let has_argument = argument
        .as_ref()
        .is_some_and(|a| a.iter().any(|&b| b != b' '));
    let none = move |command: Command| {
        if has_argument {
            Err(CommandError::UnexpectedArgument(verb))
        } else {
            Ok(command)
        }
    };
    let invalid = move || CommandError::InvalidArgument(verb);
    Ok(match verb {
        Verb::User => Command::User(required(argument)?),
        Verb::Pass => Command::Pass(Password(argument.unwrap_or_default())),
        Verb::Acct => Command::Acct(required(argument)?),
        Verb::Cwd => Command::Cwd(required(argument)?),
        Verb::Xcwd => Command::Xcwd(required(argument)?),
        Verb::Cdup => none(Command::Cdup)?,
        Verb::Xcup => none(Command::Xcup)?,
        Verb::Smnt => Command::Smnt(required(argument)?),
        Verb::Rein => none(Command::Rein)?,
        Verb::Quit => none(Command::Quit)?,
        Verb::Port => {
            let argument = required(argument)?;
            Command::Port(typed(&argument, hostport::host_port).ok_or_else(invalid)?)
        }
        Verb::Pasv => none(Command::Pasv)?,
        Verb::Eprt => {
            let argument = required(argument)?;
            Command::Eprt(hostport::parse_eprt(&argument).map_err(|e| match e {
                hostport::EprtError::UnsupportedProtocol => {
                    CommandError::UnsupportedNetworkProtocol
                }
                hostport::EprtError::Malformed => invalid(),
            })?)
        }
        Verb::Epsv => match argument.filter(|a| a.iter().any(|&b| b != b' ')) {
            None => Command::Epsv(None),
            Some(argument) => Command::Epsv(Some(
                typed(
                    &argument,
                    alt((
                        value(EpsvArgument::All, tag_no_case("ALL")),
                        map(decimal_u16, EpsvArgument::Protocol),
                    )),
                )
                .ok_or_else(invalid)?,
            )),
        },
        Verb::Type => Command::Type(parse_type(verb, &required(argument)?)?),
        Verb::Stru => Command::Stru(match letter(verb, &required(argument)?)? {
            b'F' => FileStructure::File,
            b'R' => FileStructure::Record,
            b'P' => FileStructure::Page,
            _ => return Err(CommandError::UnsupportedParameter(verb)),
        }),
        Verb::Mode => Command::Mode(match letter(verb, &required(argument)?)? {
            b'S' => TransferMode::Stream,
            b'B' => TransferMode::Block,
            b'C' => TransferMode::Compressed,
            _ => return Err(CommandError::UnsupportedParameter(verb)),
        }),
        Verb::Allo => {
            let argument = required(argument)?;
            let (size, record_size) = typed(
                &argument,
                (
                    decimal_u64,
                    opt(preceded((space1, tag_no_case("R"), space1), decimal_u64)),
                ),
            )
            .ok_or_else(invalid)?;
            Command::Allo { size, record_size }
        }
        Verb::Rest => Command::Rest(typed(&required(argument)?, decimal_u64).ok_or_else(invalid)?),
        Verb::Retr => Command::Retr(required(argument)?),
        Verb::Stor => Command::Stor(required(argument)?),
        Verb::Stou => Command::Stou(argument),
        Verb::Appe => Command::Appe(required(argument)?),
        Verb::Rnfr => Command::Rnfr(required(argument)?),
        Verb::Rnto => Command::Rnto(required(argument)?),
        Verb::Abor => none(Command::Abor)?,
        Verb::Dele => Command::Dele(required(argument)?),
        Verb::Rmd => Command::Rmd(required(argument)?),
        Verb::Xrmd => Command::Xrmd(required(argument)?),
        Verb::Mkd => Command::Mkd(required(argument)?),
        Verb::Xmkd => Command::Xmkd(required(argument)?),
        Verb::Pwd => none(Command::Pwd)?,
        Verb::Xpwd => none(Command::Xpwd)?,
        Verb::List => Command::List(argument),
        Verb::Nlst => Command::Nlst(argument),
        Verb::Site => Command::Site(required(argument)?),
        Verb::Syst => none(Command::Syst)?,
        Verb::Stat => Command::Stat(argument),
        Verb::Help => Command::Help(argument),
        Verb::Noop => none(Command::Noop)?,
        Verb::Feat => none(Command::Feat)?,
        Verb::Opts => {
            let argument = required(argument)?;
            match argument.iter().position(|&b| b == b' ') {
                Some(0) => return Err(invalid()),
                Some(at) => Command::Opts {
                    command: argument.slice(..at),
                    options: Some(argument.slice(at + 1..)).filter(|o| !o.is_empty()),
                },
                None => Command::Opts {
                    command: argument,
                    options: None,
                },
            }
        }
        Verb::Size => Command::Size(required(argument)?),
        Verb::Mdtm => Command::Mdtm(required(argument)?),
        Verb::Mfmt => Command::Mfmt(required(argument)?),
        Verb::Hash => Command::Hash(required(argument)?),
        Verb::Rang => {
            let (start, _, end) = typed(&required(argument)?, (decimal_u64, space1, decimal_u64))
                .ok_or_else(invalid)?;
            Command::Rang { start, end }
        }
        Verb::Mlst => Command::Mlst(argument),
        Verb::Mlsd => Command::Mlsd(argument),
        Verb::Auth => {
            let argument = required(argument)?;
            let trimmed = argument.trim_ascii();
            Command::Auth(if trimmed.eq_ignore_ascii_case(b"TLS") {
                AuthMechanism::Tls
            } else if trimmed.eq_ignore_ascii_case(b"TLS-C") {
                AuthMechanism::TlsC
            } else if trimmed.eq_ignore_ascii_case(b"TLS-P") {
                AuthMechanism::TlsP
            } else if trimmed.eq_ignore_ascii_case(b"SSL") {
                AuthMechanism::Ssl
            } else {
                AuthMechanism::Other(argument)
            })
        }
        Verb::Adat => Command::Adat(required(argument)?),
        Verb::Pbsz => Command::Pbsz(typed(&required(argument)?, decimal_u32).ok_or_else(invalid)?),
        Verb::Prot => Command::Prot(match letter(verb, &required(argument)?)? {
            b'C' => ProtectionLevel::Clear,
            b'S' => ProtectionLevel::Safe,
            b'E' => ProtectionLevel::Confidential,
            b'P' => ProtectionLevel::Private,
            _ => return Err(CommandError::UnsupportedParameter(verb)),
        }),
        Verb::Ccc => none(Command::Ccc)?,
        Verb::Mic => Command::Mic(required(argument)?),
        Verb::Conf => Command::Conf(required(argument)?),
        Verb::Enc => Command::Enc(required(argument)?),
        Verb::Host => Command::Host(parse_host(&required(argument)?).ok_or_else(invalid)?),
        Verb::Lang => match argument.as_deref().map(<[u8]>::trim_ascii) {
            None | Some([]) => Command::Lang(None),
            Some(tag) if is_language_tag(tag) => {
                Command::Lang(Some(String::from_utf8_lossy(tag).into_owned()))
            }
            Some(_) => return Err(invalid()),
        },
    })
}

/// A one-letter argument, upper-cased; anything longer is malformed.
fn letter(verb: Verb, argument: &[u8]) -> Result<u8, CommandError> {
    match argument.trim_ascii() {
        [letter] if letter.is_ascii_alphabetic() => Ok(letter.to_ascii_uppercase()),
        _ => Err(CommandError::InvalidArgument(verb)),
    }
}

fn text_format(input: &[u8]) -> NomResult<'_, TextFormat> {
    alt((
        value(TextFormat::NonPrint, tag_no_case("N")),
        value(TextFormat::Telnet, tag_no_case("T")),
        value(TextFormat::CarriageControl, tag_no_case("C")),
    ))
    .parse(input)
}

/// `A [N|T|C]`, `E [N|T|C]`, `I`, `L <n>` (RFC 959 §5.3.2). `L8` without
/// the space is accepted too.
fn parse_type(verb: Verb, argument: &[u8]) -> Result<TransferType, CommandError> {
    let known = typed(
        argument,
        alt((
            map(
                preceded(tag_no_case("A"), opt(preceded(space1, text_format))),
                TransferType::Ascii,
            ),
            map(
                preceded(tag_no_case("E"), opt(preceded(space1, text_format))),
                TransferType::Ebcdic,
            ),
            value(TransferType::Image, tag_no_case("I")),
            map(
                preceded((tag_no_case("L"), space0), decimal_u8),
                TransferType::Local,
            ),
        )),
    );
    match known {
        Some(TransferType::Local(0)) => Err(CommandError::InvalidArgument(verb)),
        Some(t) => Ok(t),
        // A single unknown letter is a type this implementation does not
        // know: "parameter not implemented". Anything else is malformed.
        None => match argument.trim_ascii() {
            [letter] if letter.is_ascii_alphabetic() && !b"AEILaeil".contains(letter) => {
                Err(CommandError::UnsupportedParameter(verb))
            }
            _ => Err(CommandError::InvalidArgument(verb)),
        },
    }
}

/// RFC 7151 §3: a domain name, a dotted-decimal IPv4 address, or an IPv6
/// address in brackets (accepted without them too). A port (`:21`) is a
/// syntax error.
fn parse_host(argument: &[u8]) -> Option<HostName> {
    let argument = argument.trim_ascii();
    if let Some(inner) = argument
        .strip_prefix(b"[")
        .and_then(|a| a.strip_suffix(b"]"))
    {
        let text = std::str::from_utf8(inner).ok()?;
        return text.parse().ok().map(HostName::Ipv6);
    }
    let text = std::str::from_utf8(argument).ok();
    if let Some(addr) = text.and_then(|text| text.parse().ok()) {
        return Some(HostName::Ipv4(addr));
    }
    // lftp 4.9 sends IPv6 literals without the brackets RFC 7151 asks for.
    if let Some(addr) = text.and_then(|text| text.parse().ok()) {
        return Some(HostName::Ipv6(addr));
    }
    if is_domain_name(argument) {
        return Some(HostName::Domain(
            String::from_utf8_lossy(argument).into_owned(),
        ));
    }
    None
}

/// Letters, digits and hyphens in dot-separated labels of 1 to 63 bytes;
/// 253 bytes at most, a final dot allowed (RFC 1123 §2.1).
fn is_domain_name(name: &[u8]) -> bool {
    let name = name.strip_suffix(b".").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split(|&b| b == b'.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with(b"-")
                && !label.ends_with(b"-")
        })
}

/// A language tag in the shape RFC 2640 §4.1 asks for: a primary tag of 1
/// to 8 letters, then subtags of 1 to 8 letters or digits, joined by `-`.
fn is_language_tag(language: &[u8]) -> bool {
    fn parser(input: &[u8]) -> NomResult<'_, ()> {
        let primary = take_while_m_n(1, 8, |b: u8| b.is_ascii_alphabetic());
        let subtag = take_while_m_n(1, 8, |b: u8| b.is_ascii_alphanumeric());
        value(
            (),
            (
                alt((primary, tag("*"))),
                nom::multi::many0_count(preceded(char('-'), subtag)),
            ),
        )
        .parse(input)
    }
    all_consuming(parser).parse(language).is_ok()
}

#[cfg(test)]
mod tests;
