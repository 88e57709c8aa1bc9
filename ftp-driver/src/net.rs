//! Socket set-up both adapters need.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::time::Duration;

/// How long a server waits after a failed accept on its control listener
/// (out of descriptors, say) before trying again: never a spinning loop.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Wakes a thread blocked in `accept` on the listener at `address` by
/// connecting to it, which works on every platform (shutting a listening
/// socket down wakes `accept` on Linux only). The accepting loop checks its
/// stop flag after each accept and drops this connection.
pub fn wake_accept(address: SocketAddr) {
    let mut to = address;
    if to.ip().is_unspecified() {
        to.set_ip(match to.ip() {
            IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    let _ = TcpStream::connect_timeout(&to, Duration::from_secs(1));
}

/// Prepares an accepted control connection: urgent data stays in line
/// (`SO_OOBINLINE`, so the Telnet Synch that clients send with ABOR is read
/// like other bytes, PROTOCOL.md §1) and small replies go out at once.
pub fn prepare_control(stream: &TcpStream) -> io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    socket.set_out_of_band_inline(true)?;
    stream.set_nodelay(true)
}

/// A listener for control connections with a long accept queue (4096, as
/// far as the kernel allows), so that a burst of clients connecting at once
/// is not dropped.
pub fn listen_control(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if address.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&SockAddr::from(address))?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// Binds a listener on `ip` at a port of `ports`, starting at a random one
/// (RFC 2577 §8: passive ports are hard to guess).
pub fn listen_in_range(ip: IpAddr, ports: &RangeInclusive<u16>) -> io::Result<TcpListener> {
    let (first, last) = (*ports.start(), *ports.end());
    if first > last {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "empty port range",
        ));
    }
    let span = u32::from(last - first) + 1;
    let start = fastrand::u32(..span);
    let mut last_error = io::Error::from(io::ErrorKind::AddrInUse);
    for step in 0..span.min(256) {
        let port = first as u32 + (start + step) % span;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        match TcpListener::bind(SocketAddr::new(ip, port)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Connects a data connection to `to`, from `local_ip` and, if given and
/// possible, from `from_port` (RFC 959's L-1: below 1024 it needs
/// privileges; without them any port is used).
pub fn connect_data(
    to: SocketAddr,
    local_ip: IpAddr,
    from_port: Option<u16>,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    if let Some(port) = from_port {
        socket.set_reuse_address(true)?;
        if socket
            .bind(&SockAddr::from(SocketAddr::new(local_ip, port)))
            .is_err()
        {
            return connect_data(to, local_ip, None, timeout);
        }
    }
    socket.connect_timeout(&SockAddr::from(to), timeout)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listens_inside_the_range() {
        let listener = listen_in_range("127.0.0.1".parse().unwrap(), &(47000..=47100)).unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!((47000..=47100).contains(&port));
        let stream = connect_data(
            listener.local_addr().unwrap(),
            "127.0.0.1".parse().unwrap(),
            None,
            Duration::from_secs(5),
        )
        .unwrap();
        prepare_control(&stream).unwrap();
        assert!(
            socket2::SockRef::from(&stream)
                .out_of_band_inline()
                .unwrap()
        );
        #[allow(clippy::reversed_empty_ranges)]
        let empty = 10..=9;
        assert!(listen_in_range("127.0.0.1".parse().unwrap(), &empty).is_err());
    }

    #[test]
    fn wake_accept_unblocks_an_accept_on_any_address() {
        for bound in ["127.0.0.1:0", "0.0.0.0:0"] {
            let listener = TcpListener::bind(bound).unwrap();
            let address = listener.local_addr().unwrap();
            let accepting = std::thread::spawn(move || listener.accept().map(|_| ()));
            wake_accept(address);
            assert!(accepting.join().unwrap().is_ok(), "{bound}");
        }
    }

    #[test]
    fn connects_from_the_chosen_port_or_any() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap();
        let local = "127.0.0.1".parse().unwrap();
        let free = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stream = connect_data(to, local, Some(free), Duration::from_secs(5)).unwrap();
        assert_eq!(stream.local_addr().unwrap().port(), free);
        // A port that cannot be bound (a listener holds it): any port.
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = held.local_addr().unwrap().port();
        let stream = connect_data(to, local, Some(taken), Duration::from_secs(5)).unwrap();
        assert_ne!(stream.local_addr().unwrap().port(), taken);
    }
}
