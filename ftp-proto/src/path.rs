//! Virtual paths and the jail rule.
//!
//! Every pathname a client sends is resolved against the session's working
//! directory into a [`VirtualPath`]: absolute, normalised, and inside the
//! user's root by construction (RFC 2577 §9). `.` and empty components are
//! dropped, `..` goes up one level and stays at the root when already there,
//! and `//` is one separator. A storage backend therefore only ever sees
//! clean paths under the root; it still must not follow symlinks out of the
//! root, which only the backend can check.
//!
//! Names holding NUL (which no file system accepts) or CR (which could forge
//! reply lines when echoed, PROTOCOL.md §3.3) are refused. LF cannot occur:
//! the line decoder ends lines there.

use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// An absolute, normalised path inside the user's root: `/` or `/a/b`, no
/// `.`, `..` or empty components, no trailing slash.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VirtualPath(Bytes);

/// Why a pathname was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The name holds a NUL byte.
    Nul,
    /// The name holds a CR byte.
    CarriageReturn,
    /// The name is not a single path component (empty, `.`, `..`, or holds
    /// `/`).
    NotAName,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::Nul => "file name holds a NUL byte",
            PathError::CarriageReturn => "file name holds a carriage return",
            PathError::NotAName => "not a file name",
        })
    }
}

impl std::error::Error for PathError {}

fn check_bytes(name: &[u8]) -> Result<(), PathError> {
    if name.contains(&0) {
        Err(PathError::Nul)
    } else if name.contains(&b'\r') {
        Err(PathError::CarriageReturn)
    } else {
        Ok(())
    }
}

impl VirtualPath {
    /// The user's root, `/`.
    pub fn root() -> VirtualPath {
        VirtualPath(Bytes::from_static(b"/"))
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The path as bytes, starting with `/`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path without its leading `/`: empty for the root. This is the
    /// form a backend joins to the user's real root directory.
    pub fn relative(&self) -> &[u8] {
        self.0.get(1..).unwrap_or_default()
    }

    /// The components, root first.
    pub fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.relative()
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&[u8]> {
        self.components().last()
    }

    /// The parent directory; the root's parent is the root.
    pub fn parent(&self) -> VirtualPath {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(0) | None => VirtualPath::root(),
            Some(at) => VirtualPath(self.0.slice(..at)),
        }
    }

    /// This directory joined with one file name.
    pub fn join(&self, name: &[u8]) -> Result<VirtualPath, PathError> {
        check_bytes(name)?;
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(PathError::NotAName);
        }
        let mut out = BytesMut::with_capacity(self.0.len() + 1 + name.len());
        if !self.is_root() {
            out.put_slice(&self.0);
        }
        out.put_u8(b'/');
        out.put_slice(name);
        Ok(VirtualPath(out.freeze()))
    }

    /// Resolves a client's pathname against this working directory.
    pub fn resolve(&self, pathname: &[u8]) -> Result<VirtualPath, PathError> {
        check_bytes(pathname)?;
        let mut parts: Vec<&[u8]> = if pathname.starts_with(b"/") {
            Vec::new()
        } else {
            self.components().collect()
        };
        for part in pathname.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                name => parts.push(name),
            }
        }
        if parts.is_empty() {
            return Ok(VirtualPath::root());
        }
        let mut out = BytesMut::with_capacity(pathname.len() + self.0.len() + 1);
        for part in parts {
            out.put_u8(b'/');
            out.put_slice(part);
        }
        Ok(VirtualPath(out.freeze()))
    }
}

impl fmt::Debug for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualPath({:?})", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Display for VirtualPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> VirtualPath {
        VirtualPath::root().resolve(p.as_bytes()).unwrap()
    }

    #[test]
    fn resolves_relative_and_absolute() {
        let cwd = path("/pub/linux");
        assert_eq!(cwd.as_bytes(), b"/pub/linux");
        assert_eq!(
            cwd.resolve(b"a.txt").unwrap().as_bytes(),
            b"/pub/linux/a.txt"
        );
        assert_eq!(cwd.resolve(b"/etc").unwrap().as_bytes(), b"/etc");
        assert_eq!(
            cwd.resolve(b"../bsd/./x").unwrap().as_bytes(),
            b"/pub/bsd/x"
        );
        assert_eq!(cwd.resolve(b"a//b/").unwrap().as_bytes(), b"/pub/linux/a/b");
        assert_eq!(cwd.resolve(b"").unwrap(), cwd);
        assert_eq!(cwd.resolve(b".").unwrap(), cwd);
    }

    #[test]
    fn dot_dot_never_leaves_the_root() {
        let cwd = path("/pub");
        for escape in [
            &b"../../../../etc/passwd"[..],
            b"/../etc/passwd",
            b"..//..//etc/passwd",
            b"a/../../../etc/passwd",
        ] {
            assert_eq!(cwd.resolve(escape).unwrap().as_bytes(), b"/etc/passwd");
        }
        assert_eq!(cwd.resolve(b"../../..").unwrap(), VirtualPath::root());
    }

    #[test]
    fn spaces_and_raw_bytes_are_kept() {
        assert_eq!(path("  x ").as_bytes(), b"/  x ");
        let raw = VirtualPath::root().resolve(b"caf\xe9").unwrap();
        assert_eq!(raw.as_bytes(), b"/caf\xe9");
    }

    #[test]
    fn nul_and_cr_are_refused() {
        assert_eq!(VirtualPath::root().resolve(b"a\0b"), Err(PathError::Nul));
        assert_eq!(
            VirtualPath::root().resolve(b"a\rb"),
            Err(PathError::CarriageReturn)
        );
        assert_eq!(VirtualPath::root().join(b"a\0"), Err(PathError::Nul));
    }

    #[test]
    fn parent_name_join() {
        let p = path("/a/b/c");
        assert_eq!(p.parent(), path("/a/b"));
        assert_eq!(path("/a").parent(), VirtualPath::root());
        assert_eq!(VirtualPath::root().parent(), VirtualPath::root());
        assert_eq!(p.file_name(), Some(&b"c"[..]));
        assert_eq!(VirtualPath::root().file_name(), None);
        assert_eq!(VirtualPath::root().join(b"x").unwrap(), path("/x"));
        assert_eq!(p.join(b"d").unwrap(), path("/a/b/c/d"));
        for bad in [&b""[..], b".", b"..", b"a/b"] {
            assert_eq!(p.join(bad), Err(PathError::NotAName));
        }
        assert_eq!(p.relative(), b"a/b/c");
        assert_eq!(VirtualPath::root().relative(), b"");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn segment() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                Just(b"..".to_vec()),
                Just(b".".to_vec()),
                Just(Vec::new()),
                proptest::collection::vec(
                    any::<u8>()
                        .prop_filter("no separators", |b| *b != b'/' && *b != 0 && *b != b'\r'),
                    1..6
                ),
            ]
        }

        proptest! {
            #[test]
            fn resolved_paths_are_normalised(
                cwd in proptest::collection::vec(segment(), 0..5),
                arg in proptest::collection::vec(segment(), 0..8),
                absolute in any::<bool>(),
            ) {
                let cwd = VirtualPath::root().resolve(&cwd.join(&b'/')).unwrap();
                let mut pathname = if absolute { b"/".to_vec() } else { Vec::new() };
                pathname.extend(arg.join(&b'/'));
                let resolved = cwd.resolve(&pathname).unwrap();
                prop_assert!(resolved.as_bytes().starts_with(b"/"));
                for component in resolved.components() {
                    prop_assert!(component != b"." && component != b".." && !component.is_empty());
                }
                prop_assert!(resolved.is_root() || !resolved.as_bytes().ends_with(b"/"));
                // Resolving again changes nothing.
                prop_assert_eq!(VirtualPath::root().resolve(resolved.as_bytes()).unwrap(), resolved.clone());
            }
        }
    }
}
