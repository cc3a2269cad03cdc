//! Endpoint URLs: `ws://`, `wss://`, `http://`, `https://`, parsed once at start-up.

use std::fmt;

/// A URL that could not be used as a venue endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint URL {url:?}: {why}")]
pub struct UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// A parsed endpoint: scheme security, host, port and the path with its query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// True for `wss` and `https`.
    pub tls: bool,
    /// True for `ws`/`wss`, false for `http`/`https`.
    pub websocket: bool,
    /// Host name or address (no brackets for IPv6).
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Endpoint {
    /// Parses `scheme://host[:port][/path[?query]]`.
    pub fn parse(url: &str) -> Result<Endpoint, UrlError> {
        let err = |why| UrlError {
            url: url.to_string(),
            why,
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| err("no scheme"))?;
        let (tls, websocket, default_port) = match scheme {
            "ws" => (false, true, 80),
            "wss" => (true, true, 443),
            "http" => (false, false, 80),
            "https" => (true, false, 443),
            _ => return Err(err("scheme must be ws, wss, http or https")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(err("missing host (or credentials in the URL)"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| err("unclosed ["))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| err("bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(err("junk after ]")),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().map_err(|_| err("bad port"))?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(err("empty host or port 0"));
        }
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(err("spaces or control characters in the path"));
        }
        Ok(Endpoint {
            tls,
            websocket,
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The same endpoint with `suffix` appended to its path (`suffix` starts with `/`).
    pub fn with_path(&self, suffix: &str) -> Endpoint {
        let base = self.path.trim_end_matches('/');
        Endpoint {
            path: format!("{base}{suffix}"),
            ..self.clone()
        }
    }

    /// True when the host is a loopback name or address.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.websocket, self.tls) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_venue_urls() {
        let e = Endpoint::parse("wss://stream.binance.com:9443/stream?streams=a/b").unwrap();
        assert!(e.tls && e.websocket);
        assert_eq!((e.host.as_str(), e.port), ("stream.binance.com", 9443));
        assert_eq!(e.path, "/stream?streams=a/b");
        let e = Endpoint::parse("https://api.binance.com").unwrap();
        assert_eq!((e.port, e.path.as_str(), e.websocket), (443, "/", false));
        let e = Endpoint::parse("ws://[::1]:8080/x").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("::1", 8080));
        assert!(e.is_loopback());
        assert_eq!(e.to_string(), "ws://[::1]:8080/x");
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9/")
                .unwrap()
                .with_path("/api/v3/depth")
                .path,
            "/api/v3/depth"
        );
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "stream.binance.com",
            "ftp://x",
            "wss://",
            "wss://host:notaport/",
            "wss://host:0/",
            "wss://user:pw@host/",
            "wss://host/a b",
            "ws://[::1/",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
