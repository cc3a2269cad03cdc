//! Binance request signing: the payloads the venue signs and the two signature schemes
//! (HMAC-SHA256 as lower-case hex, Ed25519 as base64).
//!
//! - WebSocket API: every param except `signature`, sorted by name, joined `k=v` with `&`,
//!   values raw UTF-8 ([`write_ws_payload`]).
//! - REST: the query string followed directly by the body, non-ASCII percent-encoded
//!   ([`write_rest_payload`]).

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt::Write as _;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `payload` under `secret` (any key length is valid for HMAC).
pub fn hmac_sha256(secret: &[u8], payload: &[u8]) -> [u8; 32] {
    // `new_from_slice` only fails for fixed-size-key MACs; HMAC takes every length.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// Appends the lower-case hex HMAC-SHA256 of `payload` under `secret` to `out`.
pub fn write_hmac_sha256_hex(secret: &[u8], payload: &[u8], out: &mut String) {
    let digest = hmac_sha256(secret, payload);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
}

/// Lower-case hex HMAC-SHA256 of `payload` under `secret`.
pub fn hmac_sha256_hex(secret: &[u8], payload: &[u8]) -> String {
    let mut out = String::with_capacity(64);
    write_hmac_sha256_hex(secret, payload, &mut out);
    out
}

/// Appends base64 (standard alphabet, padded) of the Ed25519 signature of `payload` to `out`.
pub fn write_ed25519_base64(key: &SigningKey, payload: &[u8], out: &mut String) {
    let signature = key.sign(payload);
    base64::engine::general_purpose::STANDARD.encode_string(signature.to_bytes(), out);
}

/// Base64 of the Ed25519 signature of `payload` (what Binance expects in `signature`).
pub fn ed25519_base64(key: &SigningKey, payload: &[u8]) -> String {
    let mut out = String::with_capacity(88);
    write_ed25519_base64(key, payload, &mut out);
    out
}

/// Writes the WebSocket API signing payload of `params` into `out` (cleared first): every
/// param except `signature`, sorted by name, `k=v` joined with `&`, values raw.
pub fn write_ws_payload<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)], out: &mut String) {
    out.clear();
    // Few params (at most ~12): an index sort on the stack side is plenty.
    let mut order: [usize; 32] = [0; 32];
    let n = params.len().min(order.len());
    for (i, slot) in order.iter_mut().enumerate().take(n) {
        *slot = i;
    }
    let order = &mut order[..n];
    order.sort_unstable_by(|&a, &b| params[a].0.as_ref().cmp(params[b].0.as_ref()));
    let mut first = true;
    for &i in order.iter() {
        let (k, v) = (&params[i].0, &params[i].1);
        if k.as_ref() == "signature" {
            continue;
        }
        if !first {
            out.push('&');
        }
        first = false;
        out.push_str(k.as_ref());
        out.push('=');
        out.push_str(v.as_ref());
    }
}

/// The WebSocket API signing payload of `params` (see [`write_ws_payload`]).
pub fn ws_payload<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut out = String::new();
    write_ws_payload(params, &mut out);
    out
}

/// Writes the REST signing payload into `out` (cleared first): `query` then `body` with no
/// separator, each non-ASCII byte percent-encoded (`%XX`, upper case) and ASCII kept as is.
///
/// `query` and `body` are expected to be already form-encoded for ASCII; Binance's rule is
/// that the signature covers exactly the bytes sent, with non-ASCII percent-encoded.
pub fn write_rest_payload(query: &str, body: &str, out: &mut String) {
    out.clear();
    for b in query.bytes().chain(body.bytes()) {
        if b.is_ascii() {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The REST signing payload (see [`write_rest_payload`]).
pub fn rest_payload(query: &str, body: &str) -> String {
    let mut out = String::with_capacity(query.len() + body.len());
    write_rest_payload(query, body, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_payload_sorts_and_skips_signature() {
        let params = [("b", "2"), ("signature", "x"), ("a", "1"), ("apiKey", "k")];
        assert_eq!(ws_payload(&params), "a=1&apiKey=k&b=2");
        let empty: [(&str, &str); 0] = [];
        assert_eq!(ws_payload(&empty), "");
    }

    #[test]
    fn rest_payload_encodes_only_non_ascii() {
        assert_eq!(rest_payload("a=1&b=é", "c=2"), "a=1&b=%C3%A9c=2");
    }

    #[test]
    fn hmac_of_empty_key_is_defined() {
        assert_eq!(hmac_sha256_hex(b"", b"").len(), 64);
    }
}
