//! Data-connection address encodings: the arguments of PORT and EPRT and
//! the texts of the 227 and 229 replies.
//!
//! - `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2): six decimal bytes, the IPv4
//!   address high byte first, then the port as `p1 * 256 + p2`. The grammar
//!   says 1-255; 0 is accepted as well.
//! - 227 text (RFC 1123 §4.1.2.6): no format is standardised, so a client
//!   "must scan the reply for the first digit". [`parse_pasv_reply`] takes
//!   the first run of six comma-separated numbers, with or without
//!   parentheses, as Python's ftplib does.
//! - EPRT (RFC 2428 §2): `<d>proto<d>address<d>port<d>`, where `<d>` is any
//!   ASCII character from 33 to 126, the same four times, and proto is 1
//!   (IPv4, dotted decimal) or 2 (IPv6, RFC 4291 text).
//! - 229 text (RFC 2428 §3): `(<d><d><d>port<d>)`; the client connects to
//!   the control connection's peer, so only the port is read.

use nom::Parser;
use nom::bytes::complete::tag;
use nom::character::complete::{u8 as decimal_u8, u16 as decimal_u16};
use nom::combinator::all_consuming;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

/// One host, one form: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what
/// a dual-stack socket reports for an IPv4 peer) becomes the IPv4 address.
/// Address comparisons (PORT/EPRT against the control peer, a passive
/// connection's origin, per-address session limits) and the 227 reply use
/// this form (PROTOCOL.md §4).
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// nom parser for `h1,h2,h3,h4,p1,p2`; stops after the sixth number.
pub fn host_port(input: &[u8]) -> nom::IResult<&[u8], SocketAddrV4> {
    let (rest, (h1, _, h2, _, h3, _, h4, _, p1, _, p2)) = (
        decimal_u8,
        tag(","),
        decimal_u8,
        tag(","),
        decimal_u8,
        tag(","),
        decimal_u8,
        tag(","),
        decimal_u8,
        tag(","),
        decimal_u8,
    )
        .parse(input)?;
    let port = u16::from_be_bytes([p1, p2]);
    Ok((rest, SocketAddrV4::new(Ipv4Addr::new(h1, h2, h3, h4), port)))
}

/// Parses a whole PORT argument, spaces around it allowed.
pub fn parse_host_port(argument: &[u8]) -> Option<SocketAddrV4> {
    all_consuming(host_port)
        .parse(argument.trim_ascii())
        .ok()
        .map(|(_, addr)| addr)
}

/// Formats `h1,h2,h3,h4,p1,p2`.
pub fn format_host_port(addr: SocketAddrV4) -> String {
    let [h1, h2, h3, h4] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    format!("{h1},{h2},{h3},{h4},{p1},{p2}")
}

/// Finds the address in the text of a 227 reply: the first run of six
/// comma-separated numbers from 0 to 255, wherever it stands.
pub fn parse_pasv_reply(text: &[u8]) -> Option<SocketAddrV4> {
    let mut previous_is_digit = false;
    for (at, &byte) in text.iter().enumerate() {
        let is_digit = byte.is_ascii_digit();
        if is_digit
            && !previous_is_digit
            && let Some((_, addr)) = text.get(at..).and_then(|t| host_port(t).ok())
        {
            return Some(addr);
        }
        previous_is_digit = is_digit;
    }
    None
}

/// The text of a 227 reply, in the form vsftpd and most servers send.
pub fn format_pasv_reply(addr: SocketAddrV4) -> String {
    format!("Entering Passive Mode ({}).", format_host_port(addr))
}

/// Why an EPRT argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EprtError {
    /// The argument does not have the EPRT shape, or its address or port
    /// does not parse.
    Malformed,
    /// The network protocol is a number other than 1 and 2: answered 522
    /// (RFC 2428 §2).
    UnsupportedProtocol,
}

/// Parses an EPRT argument, spaces around it allowed.
pub fn parse_eprt(argument: &[u8]) -> Result<SocketAddr, EprtError> {
    let argument = argument.trim_ascii();
    let (&delimiter, rest) = argument.split_first().ok_or(EprtError::Malformed)?;
    if !(33..=126).contains(&delimiter) {
        return Err(EprtError::Malformed);
    }
    let body = rest
        .strip_suffix(&[delimiter])
        .ok_or(EprtError::Malformed)?;
    let mut fields = body.split(|&b| b == delimiter);
    let (Some(protocol), Some(address), Some(port), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(EprtError::Malformed);
    };
    let protocol = whole_u16(protocol).ok_or(EprtError::Malformed)?;
    let port = whole_u16(port).ok_or(EprtError::Malformed)?;
    let address = std::str::from_utf8(address).map_err(|_| EprtError::Malformed)?;
    match protocol {
        1 => {
            let ip: Ipv4Addr = address.parse().map_err(|_| EprtError::Malformed)?;
            Ok(SocketAddr::from((ip, port)))
        }
        2 => {
            let ip: Ipv6Addr = address.parse().map_err(|_| EprtError::Malformed)?;
            Ok(SocketAddr::from((ip, port)))
        }
        _ => Err(EprtError::UnsupportedProtocol),
    }
}

/// A decimal number from 0 to 65535 and nothing else.
fn whole_u16(digits: &[u8]) -> Option<u16> {
    all_consuming(decimal_u16::<_, nom::error::Error<&[u8]>>)
        .parse(digits)
        .ok()
        .map(|(_, n)| n)
}

/// Formats an EPRT argument with `|` as the delimiter.
pub fn format_eprt(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => format!("|1|{}|{}|", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("|2|{}|{}|", v6.ip(), v6.port()),
    }
}

/// Reads the port from the text of a 229 reply: `(<d><d><d>port<d>)`. The
/// first two fields must be empty; the closing parenthesis may be missing.
pub fn parse_epsv_reply(text: &[u8]) -> Option<u16> {
    let open = text.iter().position(|&b| b == b'(')?;
    let inner = text.get(open + 1..)?;
    let inner = match inner.iter().position(|&b| b == b')') {
        Some(close) => inner.get(..close)?,
        None => inner,
    };
    let (&delimiter, _) = inner.split_first()?;
    if !(33..=126).contains(&delimiter) || delimiter.is_ascii_digit() {
        return None;
    }
    let mut fields = inner.split(|&b| b == delimiter);
    match (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) {
        (Some([]), Some([]), Some([]), Some(port), Some([]), None) => whole_u16(port),
        _ => None,
    }
}

/// The text of a 229 reply.
pub fn format_epsv_reply(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_argument_round_trips() {
        let addr = parse_host_port(b"192,168,1,2,7,138").unwrap();
        assert_eq!(addr, "192.168.1.2:1930".parse().unwrap());
        assert_eq!(format_host_port(addr), "192,168,1,2,7,138");
        assert_eq!(
            parse_host_port(b" 0,0,0,0,0,0 "),
            Some("0.0.0.0:0".parse().unwrap())
        );
    }

    #[test]
    fn port_argument_rejects_bad_shapes() {
        for bad in [
            &b"192,168,1,2,7"[..],
            b"192,168,1,2,7,138,1",
            b"256,168,1,2,7,138",
            b"192,168,1,2,7,-1",
            b"192.168.1.2.7.138",
            b"",
            b"1,2,3,4,5,6x",
        ] {
            assert_eq!(
                parse_host_port(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn pasv_reply_shapes_from_the_field() {
        let expected: SocketAddrV4 = "192.168.1.2:50000".parse().unwrap();
        for text in [
            &b"Entering Passive Mode (192,168,1,2,195,80)."[..],
            b"Entering Passive Mode 192,168,1,2,195,80",
            b"Entering Passive Mode (192,168,1,2,195,80",
            b"=192,168,1,2,195,80",
            b"Entering Passive Mode (192,168,1,2,195,80)",
        ] {
            assert_eq!(parse_pasv_reply(text), Some(expected));
        }
        // vsftpd on a native IPv6 control connection.
        assert_eq!(
            parse_pasv_reply(b"Entering Passive Mode (0,0,0,0,195,80)."),
            Some("0.0.0.0:50000".parse().unwrap())
        );
        // A number that cannot start the address is skipped.
        assert_eq!(
            parse_pasv_reply(b"Mode 1000 (10,0,0,1,0,21)"),
            Some("10.0.0.1:21".parse().unwrap())
        );
        assert_eq!(parse_pasv_reply(b"Entering Passive Mode"), None);
        assert_eq!(parse_pasv_reply(b"(1,2,3,4,5)"), None);
    }

    #[test]
    fn pasv_reply_round_trips() {
        let addr: SocketAddrV4 = "127.0.0.1:2121".parse().unwrap();
        assert_eq!(
            parse_pasv_reply(format_pasv_reply(addr).as_bytes()),
            Some(addr)
        );
    }

    #[test]
    fn eprt_examples_of_rfc_2428() {
        assert_eq!(
            parse_eprt(b"|1|132.235.1.2|6275|"),
            Ok("132.235.1.2:6275".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"|2|1080::8:800:200C:417A|5282|"),
            Ok("[1080::8:800:200c:417a]:5282".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"!1!10.0.0.1!21!"),
            Ok("10.0.0.1:21".parse().unwrap())
        );
    }

    #[test]
    fn eprt_errors_are_typed() {
        assert_eq!(
            parse_eprt(b"|3|1.2.3.4|21|"),
            Err(EprtError::UnsupportedProtocol)
        );
        for bad in [
            &b"|1|1.2.3.4|21"[..],
            b"|1|1.2.3.4|70000|",
            b"|1|::1|21|",
            b"|2|1.2.3.4|21|",
            b"|x|1.2.3.4|21|",
            b"|1|1.2.3.4!21|",
            b"|1|1.2.3.4|21||",
            b" 1 1.2.3.4 21 ",
            b"",
        ] {
            assert_eq!(
                parse_eprt(bad),
                Err(EprtError::Malformed),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn epsv_reply() {
        assert_eq!(
            parse_epsv_reply(b"Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
        assert_eq!(
            parse_epsv_reply(b"Entering Extended Passive Mode (!!!6446!)."),
            Some(6446)
        );
        assert_eq!(parse_epsv_reply(b"(|||6446|"), Some(6446));
        assert_eq!(parse_epsv_reply(b"(|1|::1|6446|)"), None);
        assert_eq!(parse_epsv_reply(b"(|||99999|)"), None);
        assert_eq!(parse_epsv_reply(b"no parenthesis"), None);
        assert_eq!(parse_epsv_reply(format_epsv_reply(21).as_bytes()), Some(21));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::net::SocketAddrV6;

        proptest! {
            #[test]
            fn host_port_round_trips(addr in any::<SocketAddrV4>()) {
                prop_assert_eq!(parse_host_port(format_host_port(addr).as_bytes()), Some(addr));
                prop_assert_eq!(parse_pasv_reply(format_pasv_reply(addr).as_bytes()), Some(addr));
            }

            #[test]
            fn eprt_round_trips(ip in any::<Ipv6Addr>(), v4 in any::<Ipv4Addr>(), port in any::<u16>()) {
                let v6 = SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0));
                prop_assert_eq!(parse_eprt(format_eprt(v6).as_bytes()), Ok(v6));
                let v4 = SocketAddr::from((v4, port));
                prop_assert_eq!(parse_eprt(format_eprt(v4).as_bytes()), Ok(v4));
            }

            #[test]
            fn eprt_accepts_any_allowed_delimiter(d in 33u8..=126, v4 in any::<Ipv4Addr>(), port in any::<u16>()) {
                prop_assume!(!d.is_ascii_digit() && d != b'.');
                let d = char::from(d);
                let text = format!("{d}1{d}{v4}{d}{port}{d}");
                prop_assert_eq!(parse_eprt(text.as_bytes()), Ok(SocketAddr::from((v4, port))));
            }

            #[test]
            fn epsv_reply_round_trips(port in any::<u16>()) {
                prop_assert_eq!(parse_epsv_reply(format_epsv_reply(port).as_bytes()), Some(port));
            }

            #[test]
            fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = parse_host_port(&input);
                let _ = parse_pasv_reply(&input);
                let _ = parse_eprt(&input);
                let _ = parse_epsv_reply(&input);
            }
        }
    }
}
