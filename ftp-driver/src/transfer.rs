//! The transfer loop: moves a file's bytes over a data connection, blocking,
//! and reports what the engine needs in `Event::TransferDone`.
//!
//! Both adapters run it: ftp-std on the session's thread, ftp-smol on a
//! blocking-pool thread. Bytes move through a 256 KiB buffer; TYPE A goes
//! through the engine's [`ftp_proto::ascii`] codec on the way.
//!
//! Why not `sendfile`: `std::io::copy` from a file to a socket uses it on
//! Linux, and on loopback it was the slower of the two. Measured with curl
//! downloading 1 GiB from a release build on a 2-core machine, five runs
//! each: 1.05-1.49 GB/s with `sendfile`, 2.05-2.45 GB/s with this buffer.
//!
//! To abort, another thread calls [`AbortHandle::abort`]: it marks the
//! transfer aborted and shuts the data socket down, which wakes the loop out
//! of any blocking read or write.
//!
//! Under PROT P the bytes go through the engine's TLS codec
//! ([`ftp_proto::tls::TlsCodec`]), which decides whether the connection is
//! acceptable (the handshake, the session it resumes); the loop moves
//! ciphertext. A download ends with `close_notify`; an upload that ends
//! without one is reported truncated, never complete.

use bytes::Bytes;
use ftp_fs::{OpenedFile, Upload, storage_error};
use ftp_proto::ascii::{AsciiDecoder, AsciiEncoder};
use ftp_proto::server::TransferError;
use ftp_proto::tls::TlsCodec;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Buffer size for both directions: large enough for loopback speed.
const BUFFER: usize = 256 * 1024;

/// The read buffer of a protected download or listing: a few TLS records.
const RECORDS: usize = 32 * 1024;

/// How long a data connection's TLS handshake, or the peer's close after a
/// protected download, may take.
const TLS_WAIT: Duration = Duration::from_secs(30);

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
    /// PROT P: the data connection's TLS (boxed: over a kilobyte).
    tls: Option<Box<TlsCodec>>,
    /// The session's control connection, looked at before an upload is
    /// put in place ([`Transfer::watching`]).
    control: Option<Arc<TcpStream>>,
    /// How long the data connection may move nothing
    /// ([`Transfer::stalling_after`]).
    stall: Option<Duration>,
}

/// What a failed read or write of the data connection means: a socket
/// timeout is a stall, anything else a broken connection.
fn data_failed(error: &io::Error) -> TransferError {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => TransferError::Stalled,
        _ => TransferError::ConnectionLost,
    }
}

/// How long an upload that reached the end of its data waits to see
/// whether the control connection closes too. A dying client's kernel
/// closes both connections within microseconds, in no fixed order, unless
/// the dying process is preempted between the two closes; a live client
/// waits for the 226 and sends nothing.
///
/// Every plain upload waits this long, so it bounds how many small files
/// one session can store per second (a protected upload ends with the
/// client's close_notify, which a dying client never sends: no wait).
/// Measured on loopback (Python's ftplib, 400 × 4 KiB in one session):
/// 5 ms gave 135 files/s, 1 ms 275, none 520 (vsftpd: 460). With none, a
/// curl killed mid-upload replaced the file within 4 tries; with 1 ms
/// never in 120 tries on an idle machine, but once in 40 while the whole
/// test suite loaded both cores; 5 ms held in every run but one, a round
/// in which a dying curl, on a 2-core machine busy with other tests, was
/// kept off the CPU between its two closes for longer than that. A time
/// limit cannot rule that out; it only makes it rare (other servers
/// always keep the partial file).
const CONTROL_GRACE: Duration = Duration::from_millis(5);

/// Whether the client closed the control connection (or it broke) now or
/// within [`CONTROL_GRACE`]: the socket is peeked at, never read.
fn control_closed(control: &TcpStream) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::net::{RecvFlags, recv};
    let mut watched = [PollFd::new(control, PollFlags::IN | PollFlags::RDHUP)];
    let grace = Timespec {
        tv_sec: 0,
        tv_nsec: CONTROL_GRACE.as_nanos() as _,
    };
    match poll(&mut watched, Some(&grace)) {
        // Nothing within the grace: open, the client waits for the 226.
        Ok(0) => return false,
        Ok(_) => {}
        Err(_) => return false,
    }
    let mut byte = [0u8; 1];
    match recv(control, &mut byte, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        // The end of the stream: the client is gone.
        Ok((0, _)) => true,
        // A command (QUIT, sent without waiting for the 226): alive.
        Ok(_) => false,
        Err(error) => error != rustix::io::Errno::AGAIN && error != rustix::io::Errno::INTR,
    }
}

/// An upload that reached the end of its data: put in place, unless the
/// control connection closed first. A client that dies mid-upload (killed,
/// crashed) has its kernel close both connections with FIN, and the data
/// connection then ends exactly as a complete STREAM-mode upload does;
/// only the control connection closed before the 226 could be sent tells
/// the difference, and then the upload is discarded.
fn finish_upload(upload: Upload, control: Option<&TcpStream>) -> Result<(), TransferError> {
    if control.is_some_and(control_closed) {
        return Err(TransferError::ConnectionLost);
    }
    upload
        .commit()
        .map_err(|e| TransferError::Storage(storage_error(&e)))
}

impl Transfer {
    /// A transfer of `file` over `data` (a blocking socket), with a handle
    /// that aborts it.
    pub fn new(
        payload: Payload,
        data: TcpStream,
        ascii: bool,
        tls: Option<TlsCodec>,
    ) -> io::Result<(Transfer, AbortHandle)> {
        let tls = tls.map(Box::new);
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
                tls,
                control: None,
                stall: None,
            },
            handle,
        ))
    }

    /// Ends the transfer with [`TransferError::Stalled`] when its data
    /// connection moves no byte for `limit`
    /// (`ServerConfig::data_stall_timeout`): applied to each read and
    /// write of the data socket.
    pub fn stalling_after(mut self, limit: Duration) -> Transfer {
        self.stall = Some(limit).filter(|limit| !limit.is_zero());
        self
    }

    /// Looks at the session's control connection before an upload is put
    /// in place: closed by then, the upload is discarded.
    pub fn watching(mut self, control: Option<Arc<TcpStream>>) -> Transfer {
        self.control = control;
        self
    }

    /// A transfer whose bytes are all in memory (a listing, or a small file
    /// read whole when opened) as those bytes, in their wire form, with
    /// the data connection and what reports the outcome: an async adapter
    /// writes them on its own event loop instead of calling [`Transfer::run`]
    /// on a blocking thread. Any other transfer comes back unchanged, a
    /// protected one too (its handshake runs in the loop).
    pub fn into_memory(self) -> Result<(Bytes, TcpStream, TransferEnd), Transfer> {
        if self.tls.is_some() {
            return Err(self);
        }
        let Transfer {
            payload,
            data,
            ascii,
            aborted,
            tls,
            control,
            stall,
        } = self;
        match wire_bytes(payload, ascii) {
            Ok(bytes) => Ok((bytes, data, TransferEnd { aborted, stall })),
            Err(streamed) => Err(Transfer {
                payload: streamed.into(),
                data,
                ascii,
                aborted,
                tls,
                control,
                stall,
            }),
        }
    }

    /// Runs to the end, closes the data connection, and returns the bytes
    /// moved over it and the outcome.
    pub fn run(self) -> (u64, Result<(), TransferError>) {
        let Transfer {
            payload,
            mut data,
            ascii,
            aborted,
            tls,
            control,
            stall,
        } = self;
        let control = control.as_deref();
        let end = TransferEnd { aborted, stall };
        // Each read and write of the data socket gives up after `stall`.
        let _ = data.set_read_timeout(stall);
        let _ = data.set_write_timeout(stall);
        if let Some(codec) = tls {
            let mut moved = 0;
            let result =
                Protected::new(*codec, &mut data, stall).run(payload, ascii, &end, &mut moved);
            let _ = data.shutdown(Shutdown::Both);
            return (moved, end.outcome(result));
        }
        let streamed = match wire_bytes(payload, ascii) {
            Ok(bytes) => {
                let written = data.write_all(&bytes);
                let _ = data.shutdown(Shutdown::Both);
                return end.finish(written, bytes.len());
            }
            Err(streamed) => streamed,
        };
        let aborted = &end.aborted;
        let mut moved = 0;
        let result = match streamed {
            Streamed::Download(mut file) => download(&mut file, ascii, &mut moved, |out| {
                data.write_all(out).map_err(|e| data_failed(&e))
            }),
            Streamed::Upload(mut upload) => {
                match upload_into(upload.file(), &mut data, ascii, &mut moved) {
                    Ok(()) if !aborted.load(Ordering::SeqCst) => finish_upload(upload, control),
                    Ok(()) => Err(TransferError::Aborted),
                    Err(e) => Err(e),
                }
            }
        };
        // EOF for the peer (STREAM mode): close the data connection.
        let _ = data.shutdown(Shutdown::Both);
        (moved, end.outcome(result))
    }
}

/// A payload that streams through the transfer loop.
enum Streamed {
    Download(std::fs::File),
    Upload(Upload),
}

impl From<Streamed> for Payload {
    fn from(streamed: Streamed) -> Payload {
        match streamed {
            Streamed::Download(file) => Payload::File(OpenedFile::Read(file)),
            Streamed::Upload(upload) => Payload::File(OpenedFile::Write(upload)),
        }
    }
}

/// The bytes to send for an in-memory payload, or what streams instead.
fn wire_bytes(payload: Payload, ascii: bool) -> Result<Bytes, Streamed> {
    match payload {
        Payload::Listing(bytes) => Ok(bytes),
        Payload::File(OpenedFile::Loaded(bytes)) if ascii => {
            let mut wire = Vec::with_capacity(bytes.len() + bytes.len() / 8);
            AsciiEncoder::new().encode(&bytes, &mut wire);
            Ok(wire.into())
        }
        Payload::File(OpenedFile::Loaded(bytes)) => Ok(bytes),
        Payload::File(OpenedFile::Read(file)) => Err(Streamed::Download(file)),
        Payload::File(OpenedFile::Write(upload)) => Err(Streamed::Upload(upload)),
    }
}

/// Turns how a transfer ended into what `Event::TransferDone` reports.
#[derive(Debug)]
pub struct TransferEnd {
    aborted: Arc<AtomicBool>,
    stall: Option<Duration>,
}

impl TransferEnd {
    /// How long the data connection may move nothing: the caller gives up
    /// on a write that makes no progress for this long, with an error of
    /// kind `TimedOut`.
    pub fn stall_timeout(&self) -> Option<Duration> {
        self.stall
    }

    /// The outcome of writing `len` in-memory bytes with `written` the
    /// result of the write (the caller closes the data connection).
    pub fn finish(self, written: io::Result<()>, len: usize) -> (u64, Result<(), TransferError>) {
        match written {
            Ok(()) => (len as u64, Ok(())),
            Err(error) => (0, self.outcome(Err(data_failed(&error)))),
        }
    }

    /// A broken connection after an abort is the abort.
    fn outcome(&self, result: Result<(), TransferError>) -> Result<(), TransferError> {
        match result {
            Err(TransferError::ConnectionLost) if self.aborted.load(Ordering::SeqCst) => {
                Err(TransferError::Aborted)
            }
            other => other,
        }
    }
}

/// A data connection under TLS: ciphertext on the socket, plaintext for
/// the file.
struct Protected<'a> {
    codec: TlsCodec,
    data: &'a mut TcpStream,
    ciphertext: Vec<u8>,
    /// The read timeout once the handshake is done.
    stall: Option<Duration>,
}

fn tls_failed(error: ftp_proto::tls::TlsError) -> TransferError {
    TransferError::Tls(error.to_string())
}

impl<'a> Protected<'a> {
    fn new(codec: TlsCodec, data: &'a mut TcpStream, stall: Option<Duration>) -> Protected<'a> {
        Protected {
            codec,
            data,
            ciphertext: Vec::new(),
            stall,
        }
    }

    /// Sends what the codec has to send.
    fn flush(&mut self) -> Result<(), TransferError> {
        self.ciphertext.clear();
        self.codec.transmit(&mut self.ciphertext);
        self.data
            .write_all(&self.ciphertext)
            .map_err(|e| data_failed(&e))
    }

    /// Reads ciphertext into the codec; `Ok(false)` at the end of the TCP
    /// stream.
    fn read(&mut self, buffer: &mut [u8]) -> Result<bool, TransferError> {
        let n = loop {
            match self.data.read(buffer) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(data_failed(&e)),
            }
        };
        if n == 0 {
            return Ok(false);
        }
        let received = self.codec.receive(buffer.get(..n).unwrap_or_default());
        // An alert for the peer, tickets, a key update.
        let flushed = self.flush();
        received.map_err(tls_failed)?;
        flushed.map(|()| true)
    }

    fn run(
        mut self,
        payload: Payload,
        ascii: bool,
        end: &TransferEnd,
        moved: &mut u64,
    ) -> Result<(), TransferError> {
        // Uploads read the file's bytes through it; otherwise it holds
        // only the client's TLS records (16 KiB at most each): a small
        // buffer, as most protected transfers are small listings and files.
        let size = match &payload {
            Payload::File(OpenedFile::Write(_)) => BUFFER,
            Payload::File(OpenedFile::Read(_) | OpenedFile::Loaded(_)) | Payload::Listing(_) => {
                RECORDS
            }
        };
        let mut buffer = vec![0; size];
        let _ = self.data.set_read_timeout(Some(TLS_WAIT));
        while self.codec.is_handshaking() {
            self.flush()?;
            if !self.read(&mut buffer)? {
                return Err(TransferError::Tls("closed during the handshake".into()));
            }
        }
        self.flush()?;
        let _ = self.data.set_read_timeout(self.stall);
        match wire_bytes(payload, ascii) {
            Ok(bytes) => {
                self.send(&bytes)?;
                *moved += bytes.len() as u64;
            }
            Err(Streamed::Download(mut file)) => {
                download(&mut file, ascii, moved, |out| self.send(out))?
            }
            Err(Streamed::Upload(mut upload)) => {
                self.receive_into(upload.file(), ascii, &mut buffer, moved)?;
                if end.aborted.load(Ordering::SeqCst) {
                    return Err(TransferError::Aborted);
                }
                // Only the client's close_notify ends a protected upload
                // (a client killed halfway sends none: Truncated above), so
                // there is no need to watch the control connection.
                return finish_upload(upload, None);
            }
        }
        // The end of a protected download: close_notify, then wait for the
        // client to close, so that no reset cuts the last records.
        self.codec.close();
        self.flush()?;
        let _ = self.data.shutdown(Shutdown::Write);
        let _ = self.data.set_read_timeout(Some(TLS_WAIT));
        while let Ok(true) = self.read(&mut buffer) {}
        Ok(())
    }

    fn send(&mut self, plaintext: &[u8]) -> Result<(), TransferError> {
        self.codec.send(plaintext).map_err(tls_failed)?;
        self.flush()
    }

    /// An upload: plaintext into `file` until the client's close_notify.
    fn receive_into(
        &mut self,
        file: &mut std::fs::File,
        ascii: bool,
        buffer: &mut [u8],
        moved: &mut u64,
    ) -> Result<(), TransferError> {
        let mut writer = FileWriter::new(file, ascii);
        loop {
            let more = self.read(buffer)?;
            let plaintext = self.codec.take_plaintext();
            *moved += plaintext.len() as u64;
            writer.write(&plaintext)?;
            if self.codec.peer_closed() {
                writer.finish()?;
                self.codec.close();
                let _ = self.flush();
                return Ok(());
            }
            if !more {
                return Err(TransferError::Truncated);
            }
        }
    }
}

/// Streams a file out through `send` (the socket, or the TLS codec),
/// translating line ends for TYPE A; counts the wire bytes in `moved`.
fn download(
    file: &mut std::fs::File,
    ascii: bool,
    moved: &mut u64,
    mut send: impl FnMut(&[u8]) -> Result<(), TransferError>,
) -> Result<(), TransferError> {
    // Files this loop streams are larger than `disk::SMALL_FILE` (smaller
    // ones come loaded), so the full buffer is never much more than needed.
    let mut buffer = vec![0; BUFFER];
    let mut wire = Vec::new();
    let mut encoder = AsciiEncoder::new();
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TransferError::Storage(storage_error(&e))),
        };
        let chunk = buffer.get(..n).unwrap_or_default();
        let out = if ascii {
            wire.clear();
            encoder.encode(chunk, &mut wire);
            &wire
        } else {
            chunk
        };
        send(out)?;
        *moved += out.len() as u64;
    }
}

/// Where an upload's bytes go: the file, through the TYPE A decoder when
/// asked.
struct FileWriter<'a> {
    file: &'a mut std::fs::File,
    decoder: Option<AsciiDecoder>,
    local: Vec<u8>,
}

impl<'a> FileWriter<'a> {
    fn new(file: &'a mut std::fs::File, ascii: bool) -> FileWriter<'a> {
        FileWriter {
            file,
            decoder: ascii.then(AsciiDecoder::new),
            local: Vec::new(),
        }
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), TransferError> {
        let bytes = match &mut self.decoder {
            Some(decoder) => {
                self.local.clear();
                decoder.decode(chunk, &mut self.local);
                &self.local[..]
            }
            None => chunk,
        };
        self.file
            .write_all(bytes)
            .map_err(|e| TransferError::Storage(storage_error(&e)))
    }

    /// The end of the upload: what the decoder still holds (a final CR).
    fn finish(&mut self) -> Result<(), TransferError> {
        if let Some(decoder) = &mut self.decoder {
            self.local.clear();
            decoder.finish(&mut self.local);
            self.file
                .write_all(&self.local)
                .map_err(|e| TransferError::Storage(storage_error(&e)))?;
        }
        Ok(())
    }
}

fn upload_into(
    file: &mut std::fs::File,
    data: &mut TcpStream,
    ascii: bool,
    moved: &mut u64,
) -> Result<(), TransferError> {
    let mut buffer = vec![0; BUFFER];
    let mut writer = FileWriter::new(file, ascii);
    loop {
        let n = match data.read(&mut buffer) {
            Ok(0) => return writer.finish(),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(data_failed(&e)),
        };
        *moved += n as u64;
        writer.write(buffer.get(..n).unwrap_or_default())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(bytes: &'static [u8]) -> Payload {
        Payload::File(OpenedFile::Loaded(Bytes::from_static(bytes)))
    }

    #[test]
    fn in_memory_payloads_go_out_in_their_wire_form() {
        let wire = |payload, ascii| wire_bytes(payload, ascii).ok();
        // TYPE A: line ends become CRLF; TYPE I: the bytes as they are.
        assert_eq!(
            wire(loaded(b"a\nb\n"), true),
            Some(Bytes::from("a\r\nb\r\n"))
        );
        assert_eq!(wire(loaded(b"a\nb\n"), false), Some(Bytes::from("a\nb\n")));
        // A listing is already formatted for the wire.
        let listing = Payload::Listing(Bytes::from("x\r\n"));
        assert_eq!(wire(listing, false), Some(Bytes::from("x\r\n")));
    }

    #[test]
    fn a_broken_write_after_abort_is_the_abort() {
        let end = |aborted| TransferEnd {
            aborted: Arc::new(AtomicBool::new(aborted)),
            stall: None,
        };
        let broken = || Err(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(end(false).finish(Ok(()), 7), (7, Ok(())));
        assert_eq!(
            end(false).finish(broken(), 7),
            (0, Err(TransferError::ConnectionLost))
        );
        assert_eq!(
            end(true).finish(broken(), 7),
            (0, Err(TransferError::Aborted))
        );
        // A write that made no progress within the stall timeout.
        let timed_out = Err(io::Error::from(io::ErrorKind::TimedOut));
        assert_eq!(
            end(false).finish(timed_out, 7),
            (0, Err(TransferError::Stalled))
        );
    }
}
