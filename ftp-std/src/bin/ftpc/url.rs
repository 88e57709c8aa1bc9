//! `ftp://`, `ftpes://` and `ftps://` URLs as curl and lftp users write
//! them: `scheme://[user[:password]@]host[:port]/path`, percent-encoded,
//! IPv6 hosts in brackets.

use std::fmt;

/// How a URL asks for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// `ftp://`: none, unless `--tls`.
    Plain,
    /// `ftpes://`: AUTH TLS, required.
    Explicit,
    /// `ftps://`: TLS from the first byte.
    Implicit,
}

/// A parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) security: Security,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The path after the host, percent-decoded; empty for the login
    /// directory, `/...` for an absolute path (`ftp://host//etc`).
    pub(crate) path: Vec<u8>,
}

/// `host:port`, with an IPv6 host in brackets, for messages.
pub(crate) struct Endpoint<'a>(pub(crate) &'a Url);

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Url { host, port, .. } = self.0;
        if host.contains(':') {
            write!(f, "[{host}]:{port}")
        } else {
            write!(f, "{host}:{port}")
        }
    }
}

pub(crate) fn decode(text: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(text).collect()
}

pub(crate) fn parse_url(text: &str) -> Result<Url, String> {
    let not_ftp = || format!("{text}: not an ftp://, ftpes:// or ftps:// URL");
    let (scheme, rest) = text.split_once("://").ok_or_else(not_ftp)?;
    let security = match scheme.to_ascii_lowercase().as_str() {
        "ftp" => Security::Plain,
        "ftpes" => Security::Explicit,
        "ftps" => Security::Implicit,
        _ => return Err(not_ftp()),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(info) => match info.split_once(':') {
            Some((u, p)) => (Some(u), Some(p)),
            None => (Some(info), None),
        },
    };
    let lossy = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{text}: unclosed [ in host"))?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{text}: no host"));
    }
    let port = match port {
        None | Some("") if security == Security::Implicit => 990,
        None | Some("") => 21,
        Some(port) => port
            .parse()
            .map_err(|_| format!("{text}: bad port {port:?}"))?,
    };
    Ok(Url {
        security,
        user: user.map(|u| lossy(decode(u))),
        password: password.map(|p| lossy(decode(p))),
        host,
        port,
        path: decode(path),
    })
}

/// The last component of a remote path, if it can name a local file: not
/// empty, `.` or `..`, and without a backslash or NUL.
pub(crate) fn file_name(path: &[u8]) -> Option<&[u8]> {
    let name = path.rsplit(|&b| b == b'/').next()?;
    let safe = !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.contains(&b'\\')
        && !name.contains(&0);
    safe.then_some(name)
}

/// Where `ftpc mv` moves `from`: `to` is taken relative to the directory
/// that holds `from` (as a shell's `mv` is relative to where one stands),
/// unless it starts with `/`.
pub(crate) fn rename_target(from: &[u8], to: &[u8]) -> Vec<u8> {
    if to.starts_with(b"/") {
        return to.to_vec();
    }
    match from.iter().rposition(|&b| b == b'/') {
        Some(at) => {
            let mut full = from[..=at].to_vec();
            full.extend_from_slice(to);
            full
        }
        None => to.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_curl_writes_them() {
        let url = parse_url("ftp://alice:s%40cret@example.com:2121/pub/a%20b.txt").unwrap();
        assert_eq!(url.user.as_deref(), Some("alice"));
        assert_eq!(url.password.as_deref(), Some("s@cret"));
        assert_eq!(url.host, "example.com");
        assert_eq!(url.port, 2121);
        assert_eq!(url.path, b"pub/a b.txt");
        let url = parse_url("ftp://[::1]:2121/").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_slice()),
            ("::1", 2121, &b""[..])
        );
        assert_eq!(Endpoint(&url).to_string(), "[::1]:2121");
        let url = parse_url("ftp://host").unwrap();
        assert_eq!(Endpoint(&url).to_string(), "host:21");
        assert_eq!((url.port, url.user), (21, None));
        let url = parse_url("ftp://u@host//abs/path").unwrap();
        assert_eq!(url.path, b"/abs/path");
        assert_eq!(url.password, None);
        assert!(parse_url("http://host/").is_err());
        assert!(parse_url("ftp://host:port/").is_err());
        assert!(parse_url("ftp://[::1/").is_err());
        assert!(parse_url("ftp:///x").is_err());
    }

    #[test]
    fn ftps_urls_as_curl_and_lftp_write_them() {
        let url = parse_url("ftps://host/f").unwrap();
        assert_eq!((url.security, url.port), (Security::Implicit, 990));
        let url = parse_url("ftps://host:2990/f").unwrap();
        assert_eq!((url.security, url.port), (Security::Implicit, 2990));
        let url = parse_url("ftpes://host/f").unwrap();
        assert_eq!((url.security, url.port), (Security::Explicit, 21));
        let url = parse_url("FTP://host/f").unwrap();
        assert_eq!(url.security, Security::Plain);
        assert!(parse_url("sftp://host/").is_err());
    }

    #[test]
    fn names_from_paths() {
        assert_eq!(file_name(b"pub/a.txt"), Some(&b"a.txt"[..]));
        assert_eq!(file_name(b"a.txt"), Some(&b"a.txt"[..]));
        assert_eq!(file_name(b"pub/"), None);
        assert_eq!(file_name(b"pub/.."), None);
        assert_eq!(file_name(b"..\\x"), None);
    }

    #[test]
    fn mv_targets_are_relative_to_the_source_directory() {
        assert_eq!(rename_target(b"docs/a.pdf", b"b.pdf"), b"docs/b.pdf");
        assert_eq!(
            rename_target(b"docs/a.pdf", b"old/a.pdf"),
            b"docs/old/a.pdf"
        );
        assert_eq!(rename_target(b"docs/a.pdf", b"../a.pdf"), b"docs/../a.pdf");
        assert_eq!(rename_target(b"a.pdf", b"old/a.pdf"), b"old/a.pdf");
        assert_eq!(rename_target(b"docs/a.pdf", b"/top.pdf"), b"/top.pdf");
    }
}
