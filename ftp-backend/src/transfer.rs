//! The transfer loop: moves a file's bytes over a data connection, blocking,
//! and reports what the engine needs in `Event::TransferDone`.
//!
//! Both adapters run it: ftp-std on the session's thread, ftp-smol on a
//! blocking-pool thread. Downloads in TYPE I go through `std::io::copy`,
//! which on Linux moves file bytes to a socket with `sendfile` (zero-copy).
//! TYPE A goes through the engine's [`ftp_proto::ascii`] codec.
//!
//! To abort, another thread calls [`AbortHandle::abort`]: it marks the
//! transfer aborted and shuts the data socket down, which wakes the loop out
//! of any blocking read or write.

use crate::disk::{OpenedFile, storage_error};
use ftp_proto::ascii::{AsciiDecoder, AsciiEncoder};
use ftp_proto::server::TransferError;
use std::io::{self, Read, Seek, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Buffer size for uploads and TYPE A downloads: large enough for loopback
/// speed.
const BUFFER: usize = 256 * 1024;

/// Stops a running transfer from another thread.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    aborted: Arc<AtomicBool>,
    socket: Arc<TcpStream>,
}

impl AbortHandle {
    /// Marks the transfer aborted and shuts its data connection down.
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        let _ = self.socket.shutdown(Shutdown::Both);
    }
}

/// What a transfer moves.
#[derive(Debug)]
pub enum Payload {
    /// A file opened by the storage.
    File(OpenedFile),
    /// A listing the engine formatted (`Action::SendListing`).
    Listing(bytes::Bytes),
}

/// A transfer ready to run.
#[derive(Debug)]
pub struct Transfer {
    payload: Payload,
    data: TcpStream,
    ascii: bool,
    aborted: Arc<AtomicBool>,
}

impl Transfer {
    /// A transfer of `file` over `data` (a blocking socket), with a handle
    /// that aborts it.
    pub fn new(
        payload: Payload,
        data: TcpStream,
        ascii: bool,
    ) -> io::Result<(Transfer, AbortHandle)> {
        let aborted = Arc::new(AtomicBool::new(false));
        let handle = AbortHandle {
            aborted: aborted.clone(),
            socket: Arc::new(data.try_clone()?),
        };
        Ok((
            Transfer {
                payload,
                data,
                ascii,
                aborted,
            },
            handle,
        ))
    }

    /// Runs to the end, closes the data connection, and returns the bytes
    /// moved over it and the outcome.
    pub fn run(self) -> (u64, Result<(), TransferError>) {
        let Transfer {
            payload,
            mut data,
            ascii,
            aborted,
        } = self;
        let mut moved = 0;
        let result = match payload {
            Payload::Listing(bytes) => match data.write_all(&bytes) {
                Ok(()) => {
                    moved = bytes.len() as u64;
                    Ok(())
                }
                Err(_) => Err(TransferError::ConnectionLost),
            },
            Payload::File(OpenedFile::Read(mut file)) => {
                download(&mut file, &mut data, ascii, &mut moved)
            }
            Payload::File(OpenedFile::Write(mut upload)) => {
                match upload_into(upload.file(), &mut data, ascii, &mut moved) {
                    Ok(()) if !aborted.load(Ordering::SeqCst) => upload
                        .commit()
                        .map_err(|e| TransferError::Storage(storage_error(&e))),
                    Ok(()) => Err(TransferError::Aborted),
                    Err(e) => Err(e),
                }
            }
        };
        // EOF for the peer (STREAM mode): close the data connection.
        let _ = data.shutdown(Shutdown::Both);
        let result = match result {
            Err(TransferError::ConnectionLost) if aborted.load(Ordering::SeqCst) => {
                Err(TransferError::Aborted)
            }
            other => other,
        };
        (moved, result)
    }
}

fn download(
    file: &mut std::fs::File,
    data: &mut TcpStream,
    ascii: bool,
    moved: &mut u64,
) -> Result<(), TransferError> {
    if !ascii {
        // `io::copy` from a File to a TcpStream uses sendfile on Linux.
        let start = file.stream_position().unwrap_or(0);
        let result = io::copy(file, data);
        *moved = file
            .stream_position()
            .map_or(0, |end| end.saturating_sub(start));
        return match result {
            Ok(n) => {
                *moved = n;
                Ok(())
            }
            Err(e) if is_connection_error(&e) => Err(TransferError::ConnectionLost),
            Err(e) => Err(TransferError::Storage(storage_error(&e))),
        };
    }
    let mut buffer = vec![0; BUFFER];
    let mut wire = Vec::with_capacity(BUFFER + BUFFER / 8);
    let mut encoder = AsciiEncoder::new();
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::Storage(storage_error(&e))),
        };
        wire.clear();
        encoder.encode(buffer.get(..n).unwrap_or_default(), &mut wire);
        data.write_all(&wire)
            .map_err(|_| TransferError::ConnectionLost)?;
        *moved += wire.len() as u64;
    }
}

fn upload_into(
    file: &mut std::fs::File,
    data: &mut TcpStream,
    ascii: bool,
    moved: &mut u64,
) -> Result<(), TransferError> {
    let mut buffer = vec![0; BUFFER];
    let mut local = Vec::with_capacity(BUFFER);
    let mut decoder = AsciiDecoder::new();
    loop {
        let n = match data.read(&mut buffer) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(TransferError::ConnectionLost),
        };
        let chunk = buffer.get(..n).unwrap_or_default();
        *moved += n as u64;
        let bytes: &[u8] = if ascii {
            local.clear();
            if n == 0 {
                decoder.finish(&mut local);
            } else {
                decoder.decode(chunk, &mut local);
            }
            &local
        } else {
            chunk
        };
        file.write_all(bytes)
            .map_err(|e| TransferError::Storage(storage_error(&e)))?;
        if n == 0 {
            return Ok(());
        }
    }
}

/// Errors that mean the peer went away rather than the disk failing.
fn is_connection_error(error: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(
        error.kind(),
        K::BrokenPipe
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::WriteZero
            | K::UnexpectedEof
            | K::TimedOut
    )
}
