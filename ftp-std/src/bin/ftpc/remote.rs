//! Questions ftpc asks the server about paths: whether one exists, and
//! `mkdir -p`.

use crate::mirror::join;
use ftp_std::{Client, Error};

/// Whether `path` exists on the server: MLST where the server has it,
/// else SIZE (a file), else a directory ([`remote_dir_exists`]). Asked
/// after a 450/550, which says "not found" and "no access" alike (RFC 959
/// §4.2).
pub(crate) fn exists(client: &mut Client, path: &[u8]) -> Result<bool, Error> {
    if client.features().mlst {
        return match client.mlst(Some(path)) {
            Ok(_) => Ok(true),
            Err(e) if e.is_permanent_refusal() => Ok(false),
            Err(e) => Err(e),
        };
    }
    if client.size(path).is_ok() {
        return Ok(true);
    }
    remote_dir_exists(client, path)
}

/// Whether `dir` is a directory on the server: CWD into it and back.
pub(crate) fn remote_dir_exists(client: &mut Client, dir: &[u8]) -> Result<bool, Error> {
    if dir.is_empty() {
        return Ok(true);
    }
    let here = client.pwd()?;
    match client.cwd(dir) {
        Ok(()) => {
            client.cwd(&here)?;
            Ok(true)
        }
        Err(e) if e.is_permanent_refusal() => Ok(false),
        Err(e) => Err(e),
    }
}

/// `mkdir -p` on the server: each component of `dir` that is not there.
pub(crate) fn make_dirs(client: &mut Client, dir: &[u8]) -> Result<(), Error> {
    let mut path = Vec::new();
    if dir.starts_with(b"/") {
        path.push(b'/');
    }
    for component in dir.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        path = join(&path, component);
        if !remote_dir_exists(client, &path)? {
            client.mkdir(&path)?;
        }
    }
    Ok(())
}
