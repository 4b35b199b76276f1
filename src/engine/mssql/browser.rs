//! Finding the dedicated admin connection's port through SQL Server Browser (MS-SQLR).
//!
//! The DAC listens on TCP 1434 when that port is free and on a dynamic port otherwise;
//! only SQL Server Browser knows which. It answers a unicast UDP request (CLNT_UCAST_DAC:
//! 0x0F, protocol version 0x01, the instance name, NUL) with SVR_RESP (0x05, a u16 size
//! that is always 6, version 0x01, the u16 port, little-endian). A stopped Browser, or
//! one that does not know the instance, stays silent: spiral then falls back to 1434.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

/// The UDP port SQL Server Browser listens on, and the TCP port a DAC takes when free.
pub const DEFAULT_PORT: u16 = 1434;

/// The instance name a default instance answers to in Browser requests.
pub const DEFAULT_INSTANCE: &str = "MSSQLSERVER";

const CLNT_UCAST_DAC: u8 = 0x0F;
const SVR_RESP: u8 = 0x05;
const PROTOCOL_VERSION: u8 = 0x01;

/// The Browser's UDP port. SPIRAL_SQL_BROWSER_PORT exists for tests only (they run a fake
/// Browser on an ephemeral port); it is deliberately not a documented flag, because a real
/// Browser always listens on 1434.
pub fn browser_port() -> u16 {
    std::env::var("SPIRAL_SQL_BROWSER_PORT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_PORT)
}

/// The CLNT_UCAST_DAC request for `instance`.
pub fn dac_request(instance: &str) -> Vec<u8> {
    let mut req = vec![CLNT_UCAST_DAC, PROTOCOL_VERSION];
    req.extend_from_slice(instance.as_bytes());
    req.push(0);
    req
}

/// The port in a SVR_RESP answer to a DAC request, if the answer is well formed.
pub fn parse_dac_reply(reply: &[u8]) -> Option<u16> {
    match reply {
        [
            SVR_RESP,
            size_lo,
            size_hi,
            PROTOCOL_VERSION,
            port_lo,
            port_hi,
            ..,
        ] if u16::from_le_bytes([*size_lo, *size_hi]) == 6 => {
            Some(u16::from_le_bytes([*port_lo, *port_hi])).filter(|&p| p != 0)
        }
        _ => None,
    }
}

/// Asks the Browser on `host` for the DAC port of `instance` (the default instance when
/// None). None when the Browser does not answer within `wait` or answers nonsense.
pub async fn dac_port(host: &str, instance: Option<&str>, wait: Duration) -> Option<u16> {
    let ask = async {
        let addr: SocketAddr = tokio::net::lookup_host((host, browser_port()))
            .await
            .ok()?
            .next()?;
        let local: SocketAddr = if addr.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let socket = UdpSocket::bind(local).await.ok()?;
        let request = dac_request(instance.unwrap_or(DEFAULT_INSTANCE));
        socket.send_to(&request, addr).await.ok()?;
        let mut buf = [0u8; 64];
        let n = socket.recv(&mut buf).await.ok()?;
        parse_dac_reply(buf.get(..n)?)
    };
    tokio::time::timeout(wait, ask).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_bytes() {
        assert_eq!(
            dac_request("MSSQLSERVER"),
            b"\x0f\x01MSSQLSERVER\x00".to_vec()
        );
        assert_eq!(
            parse_dac_reply(&[0x05, 0x06, 0x00, 0x01, 0x9a, 0x05]),
            Some(1434)
        );
        assert_eq!(
            parse_dac_reply(&[0x05, 0x06, 0x00, 0x01, 0x50, 0xc3]),
            Some(50_000)
        );
        // Wrong size, wrong version, truncated, a zero port.
        assert_eq!(parse_dac_reply(&[0x05, 0x07, 0x00, 0x01, 0x9a, 0x05]), None);
        assert_eq!(parse_dac_reply(&[0x05, 0x06, 0x00, 0x02, 0x9a, 0x05]), None);
        assert_eq!(parse_dac_reply(&[0x05, 0x06, 0x00, 0x01]), None);
        assert_eq!(parse_dac_reply(&[0x05, 0x06, 0x00, 0x01, 0, 0]), None);
    }
}
