//! Time limits on socket operations, for the client and the server alike.

use smol::Timer;
use smol::future::FutureExt;
use smol::io::AsyncWriteExt;
use std::io;
use std::time::Duration;

/// `future`, or a `TimedOut` error after `timeout`.
pub(crate) async fn within<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    future
        .or(async {
            Timer::after(timeout).await;
            Err(io::Error::from(io::ErrorKind::TimedOut))
        })
        .await
}

/// Writes all of `bytes`, failing with `TimedOut` when the peer takes
/// none of them for `stall` (a peer that stopped reading without closing);
/// a slow peer that keeps taking bytes is never cut off.
pub(crate) async fn write_all_unless_stalled(
    mut writer: impl AsyncWriteExt + Unpin,
    mut bytes: &[u8],
    stall: Option<Duration>,
) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = match stall {
            Some(stall) => within(stall, writer.write(bytes)).await?,
            None => writer.write(bytes).await?,
        };
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = bytes.get(n..).unwrap_or_default();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol::Async;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (Async<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (theirs, _) = listener.accept().unwrap();
        (Async::new(ours).unwrap(), theirs)
    }

    /// A peer that takes nothing: the write gives up with `TimedOut`. A
    /// peer that keeps reading, however slowly, gets everything.
    #[test]
    fn a_write_fails_only_when_nothing_moves() {
        let bytes = vec![5u8; 32 << 20];
        let (ours, _silent) = pair();
        let stall = Some(Duration::from_millis(200));
        let result = smol::block_on(write_all_unless_stalled(&ours, &bytes, stall));
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::TimedOut);

        let (ours, mut reader) = pair();
        let reading = std::thread::spawn(move || {
            let mut total = 0;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                std::thread::sleep(Duration::from_millis(20));
                match reader.read(&mut buffer) {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n,
                }
            }
        });
        smol::block_on(write_all_unless_stalled(&ours, &bytes, stall)).unwrap();
        drop(ours);
        assert_eq!(reading.join().unwrap(), bytes.len());
    }
}
