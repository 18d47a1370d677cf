//! The sockets the running system listens on, read from the kernel's
//! `/proc/net/{tcp,tcp6,udp,udp6}` tables: what `ss -ltnu` shows, without a
//! subprocess and without depending on iproute2 being installed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use vpsc_contract::plan::Protocol;

/// TCP state `LISTEN` in the kernel's tables.
const TCP_LISTEN: &str = "0A";
/// UDP sockets bound to a port show state `CLOSE` (07), the only state an
/// unconnected datagram socket has.
const UDP_BOUND: &str = "07";

/// Local addresses listening on `port` over `protocol`, read from the
/// tables under `proc_net` (normally `/proc/net`).
pub fn listeners(
    proc_net: &Path,
    protocol: Protocol,
    port: u16,
) -> std::io::Result<Vec<SocketAddr>> {
    let mut found = all_listeners(proc_net, protocol)?;
    found.retain(|addr| addr.port() == port);
    Ok(found)
}

/// Every local address listening over `protocol`, any port (for the CIS
/// check that each open port has a firewall rule).
pub fn all_listeners(proc_net: &Path, protocol: Protocol) -> std::io::Result<Vec<SocketAddr>> {
    let (files, state) = match protocol {
        Protocol::Tcp => (["tcp", "tcp6"], TCP_LISTEN),
        Protocol::Udp => (["udp", "udp6"], UDP_BOUND),
    };
    let mut found = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(proc_net.join(file)) {
            Ok(t) => t,
            // A kernel without IPv6 has no tcp6 table.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        found.extend(
            parse_table(&text)
                .into_iter()
                .filter(|(_, st)| st == state)
                .map(|(addr, _)| addr),
        );
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Rows of one table as (local address, state); unparsable rows are
/// skipped, the header included.
fn parse_table(text: &str) -> Vec<(SocketAddr, String)> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1)?;
            let state = fields.nth(1)?;
            Some((parse_address(local)?, state.to_owned()))
        })
        .collect()
}

/// `0100007F:0016` (IPv4) or 32 hex digits and a port (IPv6). The kernel
/// prints each 32-bit word of the address in host byte order.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let ip = match words.as_slice() {
        [w] if addr.len() == 8 => IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())),
        [a, b, c, d] if addr.len() == 32 => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Whether an address only this host can reach (127.0.0.0/8, ::1, or an
/// IPv4-mapped loopback).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("socket address")
    }

    #[test]
    fn kernel_table_rows_are_decoded() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 1 1 0 100 0 0 10 0\n   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n";
        let rows = parse_table(table);
        assert_eq!(
            rows,
            vec![
                (addr("127.0.0.1:3306"), "0A".into()),
                (addr("0.0.0.0:22"), "0A".into()),
            ]
        );
        let v6 = "   0: 00000000000000000000000001000000:4E1F 00000000000000000000000000000000:0000 0A 0\n";
        assert_eq!(parse_table(v6)[0].0, addr("[::1]:19999"));
        assert!(is_loopback(&parse_table(v6)[0].0));
        assert!(!is_loopback(&rows[1].0));
    }

    #[test]
    fn a_socket_this_test_opens_is_found_on_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("socket");
        let port = listener.local_addr().expect("socket").port();
        let found = listeners(Path::new("/proc/net"), Protocol::Tcp, port).expect("socket");
        assert_eq!(found, vec![listener.local_addr().expect("socket")]);
        assert!(found.iter().all(is_loopback));
        drop(listener);
        assert!(
            listeners(Path::new("/proc/net"), Protocol::Tcp, port)
                .expect("socket")
                .is_empty()
        );
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("socket");
        let port = udp.local_addr().expect("socket").port();
        assert_eq!(
            listeners(Path::new("/proc/net"), Protocol::Udp, port).expect("socket"),
            vec![udp.local_addr().expect("socket")]
        );
    }
}
