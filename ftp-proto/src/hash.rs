//! HASH (draft-bryan-ftpext-hash-02): the digest algorithms a server
//! offers, their names on the wire, and the byte range a digest covers
//! (set by RANG, draft-bryan-ftp-range).
//!
//! A client picks an algorithm with `OPTS HASH <name>` (FEAT marks the
//! current one with `*`), may narrow the next HASH to a range with
//! `RANG <start> <end>`, and asks with `HASH <path>`; the answer is
//! `213 <name> <start>-<end> <hex digest> <path>`.

use std::fmt;

/// A digest algorithm HASH can compute. The names are IANA's "Hash
/// Function Textual Names" (and CRC32, as FileZilla Server names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HashAlgorithm {
    /// SHA-1 (the draft's mandatory algorithm; weak, kept for old clients).
    Sha1,
    /// SHA-256: the default selection.
    #[default]
    Sha256,
    /// SHA-512.
    Sha512,
    /// MD5 (weak, for clients that know nothing else).
    Md5,
    /// CRC-32 (IEEE), four bytes, big-endian.
    Crc32,
}

impl HashAlgorithm {
    /// Every algorithm, in the order FEAT lists them.
    pub const ALL: [HashAlgorithm; 5] = [
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha512,
        HashAlgorithm::Md5,
        HashAlgorithm::Crc32,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha512 => "SHA-512",
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Crc32 => "CRC32",
        }
    }

    /// The algorithm a name stands for, in any case.
    pub fn from_name(name: &[u8]) -> Option<HashAlgorithm> {
        let name = name.trim_ascii();
        HashAlgorithm::ALL
            .into_iter()
            .find(|a| a.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The length of a digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha512 => 64,
            HashAlgorithm::Md5 => 16,
            HashAlgorithm::Crc32 => 4,
        }
    }

    /// The FEAT line's value: every name, `*` after `current`.
    pub fn feat(current: HashAlgorithm) -> String {
        let names: Vec<String> = HashAlgorithm::ALL
            .into_iter()
            .map(|a| {
                let star = if a == current { "*" } else { "" };
                format!("{}{star}", a.name())
            })
            .collect();
        names.join(";")
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The bytes `start..=end` of a file, as RANG names them (both ends
/// included, so `RANG 0 99` is the first hundred bytes). An `end` past the
/// end of the file stops at the file's last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// The last byte, included.
    pub end: u64,
}

impl ByteRange {
    /// The part of a file of `size` bytes this range covers, as an offset
    /// and a length; `None` if the range starts past the file's end.
    pub fn within(self, size: u64) -> Option<(u64, u64)> {
        if self.start >= size {
            return None;
        }
        let last = self.end.min(size - 1);
        Some((self.start, last - self.start + 1))
    }
}

/// Lower-case hexadecimal, as HASH replies carry digests.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(digest.len() * 2);
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for algorithm in HashAlgorithm::ALL {
            let lower = algorithm.name().to_ascii_lowercase();
            assert_eq!(HashAlgorithm::from_name(lower.as_bytes()), Some(algorithm));
            assert_eq!(
                HashAlgorithm::from_name(algorithm.name().as_bytes()),
                Some(algorithm)
            );
        }
        assert_eq!(HashAlgorithm::from_name(b"SHA-3"), None);
        assert_eq!(HashAlgorithm::from_name(b""), None);
    }

    #[test]
    fn feat_marks_the_current_algorithm() {
        assert_eq!(
            HashAlgorithm::feat(HashAlgorithm::Sha256),
            "SHA-1;SHA-256*;SHA-512;MD5;CRC32"
        );
        assert_eq!(
            HashAlgorithm::feat(HashAlgorithm::Crc32),
            "SHA-1;SHA-256;SHA-512;MD5;CRC32*"
        );
    }

    #[test]
    fn a_range_is_clipped_to_the_file() {
        let range = ByteRange { start: 10, end: 19 };
        assert_eq!(range.within(100), Some((10, 10)));
        assert_eq!(range.within(15), Some((10, 5)));
        assert_eq!(range.within(10), None);
        assert_eq!(range.within(0), None);
        let to_the_end = ByteRange {
            start: 0,
            end: u64::MAX,
        };
        assert_eq!(to_the_end.within(7), Some((0, 7)));
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }
}
