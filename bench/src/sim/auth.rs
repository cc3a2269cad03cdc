//! Request signing as Binance checks it: the sorted `k=v&...` payload, HMAC-SHA256 (hex) per
//! request, Ed25519 (base64) for `session.logon`, and the timestamp window.

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::venue::ApiError;

/// Largest `recvWindow` Binance accepts, ms.
pub const MAX_RECV_WINDOW_MS: u64 = 60_000;
/// `recvWindow` when the request has none, ms.
pub const DEFAULT_RECV_WINDOW_MS: u64 = 5_000;

/// A parameter's raw text: strings as they are, numbers and booleans as JSON writes them.
pub fn raw_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The signed payload: every param but `signature`, sorted by name, `k=v` joined by `&`.
pub fn signing_payload(params: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = params.keys().filter(|k| *k != "signature").collect();
    keys.sort();
    let mut out = String::with_capacity(128);
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(&params.get(*k).and_then(raw_value).unwrap_or_default());
    }
    out
}

/// -1022.
pub fn bad_signature() -> ApiError {
    ApiError::bad(-1022, "Signature for this request is not valid.")
}

/// -2015.
pub fn bad_key() -> ApiError {
    ApiError {
        status: 401,
        code: -2015,
        msg: "Invalid API-key, IP, or permissions for action.".to_owned(),
    }
}

/// Checks a lower-case hex HMAC-SHA256 `signature` of `payload`.
pub fn verify_hmac(secret: &[u8], payload: &str, signature: &str) -> Result<(), ApiError> {
    let mut sig = vec![0u8; signature.len() / 2];
    if signature.len() != 64 || hex::decode_to_slice(signature, &mut sig).is_err() {
        return Err(bad_signature());
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| bad_signature())?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&sig).map_err(|_| bad_signature())
}

/// Checks a base64 Ed25519 `signature` of `payload`.
pub fn verify_ed25519(key: &VerifyingKey, payload: &str, signature: &str) -> Result<(), ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| bad_signature())?;
    let sig = Signature::from_slice(&bytes).map_err(|_| bad_signature())?;
    key.verify(payload.as_bytes(), &sig)
        .map_err(|_| bad_signature())
}

fn param_u64(params: &Map<String, Value>, name: &str) -> Option<Option<u64>> {
    match params.get(name) {
        None => Some(None),
        Some(Value::Number(n)) => n.as_u64().map(Some),
        Some(Value::String(s)) => s.parse().ok().map(Some),
        Some(_) => None,
    }
}

/// Checks `timestamp` against the server clock and `recvWindow` (Binance's rule: not more
/// than 1 s ahead, not older than the window).
pub fn check_timestamp(params: &Map<String, Value>, server_ms: u64) -> Result<(), ApiError> {
    let missing = || {
        ApiError::bad(
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        )
    };
    let ts = param_u64(params, "timestamp")
        .flatten()
        .ok_or_else(missing)?;
    let window = match param_u64(params, "recvWindow") {
        Some(w) => w.unwrap_or(DEFAULT_RECV_WINDOW_MS),
        None => {
            return Err(ApiError::bad(
                -1100,
                "Illegal characters found in parameter 'recvWindow'; legal range is '^[0-9]{1,20}$'.",
            ));
        }
    };
    if window > MAX_RECV_WINDOW_MS {
        return Err(ApiError::bad(-1131, "recvWindow must be less than 60000"));
    }
    if ts > server_ms + 1_000 || server_ms.saturating_sub(ts) > window {
        return Err(ApiError::bad(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_sorted_and_raw() {
        let v: Value =
            serde_json::json!({"timestamp": 5, "apiKey": "k", "signature": "x", "price": "1.50"});
        let Value::Object(m) = v else { panic!() };
        assert_eq!(signing_payload(&m), "apiKey=k&price=1.50&timestamp=5");
    }

    #[test]
    fn hmac_roundtrip() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s").unwrap();
        mac.update(b"a=1");
        let sig = hex::encode(mac.finalize().into_bytes());
        assert!(verify_hmac(b"s", "a=1", &sig).is_ok());
        assert!(verify_hmac(b"s", "a=2", &sig).is_err());
        assert!(verify_hmac(b"s", "a=1", "zz").is_err());
    }
}
