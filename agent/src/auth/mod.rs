//! Authentication of control requests: a bearer token (compared in constant time) and, when a
//! TOTP secret is configured, an RFC 6238 code in `X-2FA-Token`.

pub mod rate_limit;

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret as TotpSecret, TOTP};

use crate::secrets::Secret;

/// Header carrying the TOTP code.
pub const TOTP_HEADER: &str = "x-2fa-token";

/// TOTP parameters: RFC 6238 defaults as authenticator apps use them.
pub const TOTP_DIGITS: usize = 6;
/// Time step, seconds.
pub const TOTP_STEP_SECS: u64 = 30;
/// Steps of clock skew accepted either side.
pub const TOTP_SKEW_STEPS: u8 = 1;

/// Why a request was not authenticated. Deliberately coarse: responses never say which part
/// was wrong beyond "token" vs "second factor".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed or wrong bearer token.
    #[error("bad or missing bearer token")]
    BadToken,
    /// Token fine, TOTP code missing or wrong.
    #[error("bad or missing second factor")]
    BadSecondFactor,
}

/// Why the authenticator could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The TOTP secret is not valid base32 or is too short for RFC 4226 (128 bits).
    #[error("TOTP secret is invalid: {0} (expected base32, at least 128 bits)")]
    BadTotpSecret(String),
}

/// Who made an authenticated request (for the audit log; never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// First 8 hex digits of SHA-256(token): identifies which token without revealing it.
    pub token_id: String,
    /// Whether a TOTP code was checked.
    pub second_factor: bool,
}

/// Checks credentials.
pub struct Authenticator {
    token_sha256: [u8; 32],
    token_id: String,
    totp: Option<TOTP>,
    /// Highest TOTP time step accepted so far: a code is accepted once (RFC 6238 §5.2).
    last_totp_step: std::sync::Mutex<u64>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("token_id", &self.token_id)
            .field("totp", &self.totp.is_some())
            .finish()
    }
}

impl Authenticator {
    /// Builds an authenticator from the token and an optional base32 TOTP secret.
    ///
    /// # Errors
    /// [`AuthSetupError::BadTotpSecret`].
    pub fn new(token: &Secret, totp_secret: Option<&Secret>) -> Result<Self, AuthSetupError> {
        let token_sha256: [u8; 32] = Sha256::digest(token.expose().as_bytes()).into();
        let token_id = token_sha256[..4]
            .iter()
            .fold(String::new(), |acc, b| acc + &format!("{b:02x}"));
        let totp = totp_secret.map(build_totp).transpose()?;
        Ok(Self {
            token_sha256,
            token_id,
            totp,
            last_totp_step: std::sync::Mutex::new(0),
        })
    }

    /// Whether a TOTP code is required.
    #[must_use]
    pub fn requires_totp(&self) -> bool {
        self.totp.is_some()
    }

    /// Checks `Authorization: Bearer <token>` and, if configured, `X-2FA-Token` at
    /// `now_unix_secs`.
    ///
    /// # Errors
    /// [`AuthError`].
    pub fn check(&self, headers: &HeaderMap, now_unix_secs: u64) -> Result<Principal, AuthError> {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AuthError::BadToken)?;
        // Hash first so the comparison is constant-time in the length too.
        let presented_sha256: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        if !bool::from(presented_sha256.ct_eq(&self.token_sha256)) {
            return Err(AuthError::BadToken);
        }
        if let Some(totp) = &self.totp {
            let code = headers
                .get(TOTP_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .ok_or(AuthError::BadSecondFactor)?;
            let step =
                matching_step(totp, code, now_unix_secs).ok_or(AuthError::BadSecondFactor)?;
            let mut last = self
                .last_totp_step
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // A code (or an older one) already used is refused: no replay within its window.
            if step <= *last {
                return Err(AuthError::BadSecondFactor);
            }
            *last = step;
        }
        Ok(Principal {
            token_id: self.token_id.clone(),
            second_factor: self.totp.is_some(),
        })
    }
}

/// The time step (counter) whose code equals `code`, within the allowed skew; compares in
/// constant time.
fn matching_step(totp: &TOTP, code: &str, now_unix_secs: u64) -> Option<u64> {
    let now_step = now_unix_secs / TOTP_STEP_SECS;
    let skew = u64::from(TOTP_SKEW_STEPS);
    let mut found = None;
    for step in now_step.saturating_sub(skew)..=now_step + skew {
        let expected = totp.generate(step * TOTP_STEP_SECS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The TOTP generator for a base32 secret (RFC 6238: HMAC-SHA1, 6 digits, 30 s).
///
/// # Errors
/// [`AuthSetupError::BadTotpSecret`].
pub fn build_totp(secret: &Secret) -> Result<TOTP, AuthSetupError> {
    let normalized: String = secret
        .expose()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = TotpSecret::Encoded(normalized)
        .to_bytes()
        .map_err(|_| AuthSetupError::BadTotpSecret("not base32".to_string()))?;
    TOTP::new(
        Algorithm::SHA1,
        TOTP_DIGITS,
        TOTP_SKEW_STEPS,
        TOTP_STEP_SECS,
        bytes,
    )
    .map_err(|e| AuthSetupError::BadTotpSecret(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const TOKEN: &str = "test-token-0123456789abcdef";
    const TOTP_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    fn headers(auth: Option<&str>, code: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert("authorization", HeaderValue::from_str(a).unwrap());
        }
        if let Some(c) = code {
            h.insert(TOTP_HEADER, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn token_checks() {
        let a = Authenticator::new(&Secret::new(TOKEN), None).unwrap();
        let ok = a.check(&headers(Some(&format!("Bearer {TOKEN}")), None), 0);
        assert_eq!(ok.unwrap().token_id.len(), 8);
        assert_eq!(a.check(&headers(None, None), 0), Err(AuthError::BadToken));
        assert_eq!(
            a.check(&headers(Some("Bearer nope"), None), 0),
            Err(AuthError::BadToken)
        );
        assert_eq!(
            a.check(&headers(Some(TOKEN), None), 0),
            Err(AuthError::BadToken)
        );
    }

    #[test]
    fn totp_checks() {
        let secret = Secret::new(TOTP_B32);
        let a = Authenticator::new(&Secret::new(TOKEN), Some(&secret)).unwrap();
        let now = 1_800_000_000;
        let code = build_totp(&secret).unwrap().generate(now);
        let bearer = format!("Bearer {TOKEN}");
        assert!(a.check(&headers(Some(&bearer), Some(&code)), now).is_ok());
        assert_eq!(
            a.check(&headers(Some(&bearer), None), now),
            Err(AuthError::BadSecondFactor)
        );
        // A code from ten minutes earlier is outside the skew.
        let old = build_totp(&secret).unwrap().generate(now - 600);
        assert_eq!(
            a.check(&headers(Some(&bearer), Some(&old)), now),
            Err(AuthError::BadSecondFactor)
        );
        // The same code twice: the second use is a replay.
        assert_eq!(
            a.check(&headers(Some(&bearer), Some(&code)), now),
            Err(AuthError::BadSecondFactor)
        );
        // The next step's code is fresh.
        let next = build_totp(&secret).unwrap().generate(now + TOTP_STEP_SECS);
        assert!(
            a.check(&headers(Some(&bearer), Some(&next)), now + TOTP_STEP_SECS)
                .is_ok()
        );
    }

    #[test]
    fn short_totp_secret_is_refused() {
        assert!(Authenticator::new(&Secret::new(TOKEN), Some(&Secret::new("JBSWY3DP"))).is_err());
        assert!(
            Authenticator::new(&Secret::new(TOKEN), Some(&Secret::new("not base32!"))).is_err()
        );
    }
}
