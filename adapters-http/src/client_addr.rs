//! The client's address, for the per-address limits and the logs: the TCP
//! peer, or, when the peer is one of the deployment's trusted proxies
//! (`MINIFB_TRUSTED_PROXIES`), the right-most address of `X-Forwarded-For`
//! that is not itself a trusted proxy.
//!
//! Each proxy appends the address it received the request from, so the
//! right end of the header is what our own proxies wrote and the left end is
//! whatever the client claimed. Walking from the right and stopping at the
//! first address that is not ours is the one reading a client cannot forge.
//! From any other peer the header is ignored, so nobody chooses their own
//! limit key. A header from a trusted proxy that does not parse falls back
//! to the peer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::error::ApiError;

/// The load balancers whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated addresses (`10.0.0.7`, `::1`) or CIDR ranges
    /// (`10.0.0.0/8`); blanks between commas are ignored. The error names
    /// the entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{entry}' is neither an IP address nor a CIDR range"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(&address))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For`
    /// header lines in the order they came.
    pub fn client_of<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a HeaderValue>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let Some(chain) = forwarded_chain(forwarded_for) else {
            return peer;
        };
        chain
            .iter()
            .rev()
            .find(|address| !self.trusts(**address))
            // Every hop is ours: the farthest one is the best we know.
            .or_else(|| chain.first())
            .copied()
            .unwrap_or(peer)
    }
}

/// The addresses of `X-Forwarded-For`, left to right, or `None` when the
/// header is absent, empty or does not parse as a whole. An entry may carry
/// a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as some proxies write.
fn forwarded_chain<'a>(lines: impl Iterator<Item = &'a HeaderValue>) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for line in lines {
        for entry in line.to_str().ok()?.split(',') {
            let entry = entry.trim();
            let address = entry
                .parse::<IpAddr>()
                .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
                .ok()?;
            chain.push(address.to_canonical());
        }
    }
    (!chain.is_empty()).then_some(chain)
}

/// The client address of a request, as [`client_address`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Finds the request's client address once, for the extractor and the
/// request's log span.
pub async fn client_address(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let client = proxies.client_of(peer, request.headers().get_all("x-forwarded-for").iter());
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    /// The address [`client_address`] found; the unspecified address for a
    /// request that did not pass through it (a router test without a
    /// socket).
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<Self>()
            .copied()
            .unwrap_or(Self(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// (case, trusted proxies, peer, X-Forwarded-For lines, the client)
    const CASES: &[(&str, &str, &str, &[&str], &str)] = &[
        (
            "no proxy is trusted",
            "",
            "127.0.0.1",
            &["1.1.1.1"],
            "127.0.0.1",
        ),
        (
            "a forged header from an untrusted peer",
            "10.0.0.1",
            "192.0.2.9",
            &["1.1.1.1"],
            "192.0.2.9",
        ),
        (
            "one trusted proxy",
            "10.0.0.1",
            "10.0.0.1",
            &["1.1.1.1"],
            "1.1.1.1",
        ),
        (
            "the client's own claim is left of it",
            "10.0.0.1",
            "10.0.0.1",
            &["6.6.6.6, 1.1.1.1"],
            "1.1.1.1",
        ),
        (
            "two proxies of a range",
            "10.0.0.0/8",
            "10.0.0.1",
            &["6.6.6.6, 1.1.1.1, 10.9.9.9"],
            "1.1.1.1",
        ),
        (
            "header lines in order",
            "10.0.0.0/8",
            "10.0.0.1",
            &["6.6.6.6", "1.1.1.1, 10.2.2.2"],
            "1.1.1.1",
        ),
        (
            "every hop trusted",
            "10.0.0.0/8",
            "10.0.0.1",
            &["10.3.3.3, 10.2.2.2"],
            "10.3.3.3",
        ),
        ("no header", "10.0.0.1", "10.0.0.1", &[], "10.0.0.1"),
        ("an empty header", "10.0.0.1", "10.0.0.1", &[""], "10.0.0.1"),
        (
            "a malformed entry",
            "10.0.0.1",
            "10.0.0.1",
            &["1.1.1.1, nonsense"],
            "10.0.0.1",
        ),
        (
            "an empty entry",
            "10.0.0.1",
            "10.0.0.1",
            &["1.1.1.1,,2.2.2.2"],
            "10.0.0.1",
        ),
        (
            "a port on an entry",
            "10.0.0.1",
            "10.0.0.1",
            &["192.0.2.1:4711"],
            "192.0.2.1",
        ),
        (
            "IPv6 clients",
            "::1",
            "::1",
            &["2001:db8::7"],
            "2001:db8::7",
        ),
        (
            "IPv6 with a port",
            "::1",
            "::1",
            &["[2001:db8::7]:443"],
            "2001:db8::7",
        ),
        (
            "an IPv4-mapped peer",
            "127.0.0.1",
            "::ffff:127.0.0.1",
            &["1.1.1.1"],
            "1.1.1.1",
        ),
        (
            "an IPv6 range",
            "fd00::/8",
            "fd00::1",
            &["2001:db8::7, fd00::2"],
            "2001:db8::7",
        ),
    ];

    #[test]
    fn the_client_is_the_rightmost_untrusted_address_behind_a_trusted_peer() {
        for (case, trusted, peer, lines, client) in CASES {
            let proxies = TrustedProxies::parse(trusted).unwrap();
            let lines: Vec<HeaderValue> = lines
                .iter()
                .map(|line| HeaderValue::from_str(line).unwrap())
                .collect();

            let found = proxies.client_of(ip(peer), lines.iter());

            assert_eq!(found, ip(client), "{case}");
        }
    }

    #[test]
    fn a_header_that_is_not_text_falls_back_to_the_peer() {
        let proxies = TrustedProxies::parse("10.0.0.1").unwrap();
        let line = HeaderValue::from_bytes(b"1.1.1.1\xff").unwrap();

        let found = proxies.client_of(ip("10.0.0.1"), std::iter::once(&line));

        assert_eq!(found, ip("10.0.0.1"));
    }

    #[test]
    fn the_setting_takes_addresses_and_ranges_and_names_a_bad_entry() {
        let parsed = TrustedProxies::parse(" 10.0.0.1, 192.168.0.0/16,,::1 ").unwrap();
        assert!(parsed.trusts(ip("10.0.0.1")) && !parsed.trusts(ip("10.0.0.2")));
        assert!(parsed.trusts(ip("192.168.77.1")) && parsed.trusts(ip("::1")));
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );

        let error = TrustedProxies::parse("10.0.0.1, nginx").unwrap_err();
        assert!(error.contains("'nginx'"), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
