//! Checks against the venue over the configured `[venue]` URLs: reachable (WS API `time`),
//! clock offset, keys accepted (`session.logon` for Ed25519, a signed `account.status` for
//! HMAC) and balances (`account.status`, spot only). One blocking session with the
//! config's connect timeout; nothing is ever placed or cancelled.

use super::balances::{self, Account};
use super::clock;
use super::verdict::Check;
use super::wsapi::{CallError, Session};
use super::{Env, keys};
use crate::config::Config;
use crate::instrument::Market;
use crate::venue::binance::client_id::ClientIds;
use crate::venue::binance::sign;
use crate::venue::binance::ws_api::{Flavor, RequestWriter};
use crate::venue::keys::{Credentials, KeyType};
use serde_json::Value;
use std::io::Read as _;
use std::time::Duration;

/// `time` requests sent for the clock estimate.
const TIME_SAMPLES: usize = 5;
/// A round trip above this warns, ms ("answers in well under a second").
const SLOW_RTT_MS: i64 = 1000;

/// The four venue checks: `venue`, `clock`, `venue-keys`, `balances`.
pub fn checks(cfg: &Config, env: Env<'_>, min_quote_micros: Option<i128>) -> Vec<Check> {
    let v = &cfg.venue;
    let timeout = Duration::from_millis(v.section.connect_timeout_ms);
    let url = v.ws_api.to_string();
    let mut session = match Session::connect(&v.ws_api, timeout) {
        Ok(s) => s,
        Err(e) => {
            return vec![
                Check::fail("venue", format!("{url}: {e}")),
                Check::fail("clock", "not measured: venue not reached"),
                Check::fail("venue-keys", "not checked: venue not reached"),
                Check::fail("balances", "not checked: venue not reached"),
            ];
        }
    };
    let mut out = Vec::with_capacity(4);
    let samples = match clock::sample(&mut session, TIME_SAMPLES) {
        Ok(s) => Ok((s, format!("{url} answers time"))),
        // A WS API without `time`: the venue is reached; measure over REST instead.
        Err(CallError::Refused(r)) => {
            let rest = time_url(cfg);
            clock::sample_rest(&rest, timeout, TIME_SAMPLES)
                .map(|s| {
                    (
                        s,
                        format!("{url} connected (time refused: {r}); {rest} answers"),
                    )
                })
                .map_err(|e| format!("connected, but time was refused ({r}) and {e}"))
        }
        Err(e) => Err(format!("connected, but time: {e}")),
    };
    let estimate = match samples {
        Ok((samples, what)) => clock::estimate(&samples).map(|e| (e, what)),
        Err(e) => {
            out.push(Check::fail("venue", format!("{url}: {e}")));
            out.push(Check::fail("clock", "not measured: no time answer"));
            None
        }
    };
    if let Some((est, what)) = &estimate {
        let text = format!("{what} in {} ms", est.rtt_ms);
        out.push(if est.rtt_ms > SLOW_RTT_MS {
            Check::warn("venue", format!("{text}: slow (over {SLOW_RTT_MS} ms)"))
        } else {
            Check::pass("venue", text)
        });
        out.push(clock::judge(est, v.section.recv_window_ms));
    }
    let offset_ms = estimate.as_ref().map_or(0, |(e, _)| e.offset_ms);
    let (key_check, account) = match keys::load(v, env) {
        Ok(creds) => account_checks(cfg, &mut session, &creds, offset_ms),
        Err(e) => (
            Check::fail("venue-keys", format!("not checked: {e}")),
            Err("not checked: no usable keys".to_string()),
        ),
    };
    session.close();
    out.push(key_check);
    out.push(match account {
        Ok(acc) => {
            let asks = best_asks(cfg, timeout);
            let (needs, notes) = balances::needs(cfg, &asks, min_quote_micros);
            balances::judge(&acc, &needs, &notes)
        }
        Err(why) if v.market == Market::Spot => Check::fail("balances", why),
        Err(why) => Check::warn("balances", why),
    });
    out
}

/// Logs on (Ed25519) and asks `account.status` (spot): the key check and the account.
fn account_checks(
    cfg: &Config,
    session: &mut Session,
    creds: &Credentials,
    offset_ms: i64,
) -> (Check, Result<Account, String>) {
    let v = &cfg.venue.section;
    let venue_ms = || i64::try_from(clock::now_ns() / 1_000_000).unwrap_or(i64::MAX) + offset_ms;
    let spot = cfg.venue.market == Market::Spot;
    let mut logged_on = false;
    if creds.key_type() == KeyType::Ed25519 {
        let flavor = if spot { Flavor::Spot } else { Flavor::UsdM };
        let mut writer = RequestWriter::new(flavor, v.recv_window_ms, ClientIds::new(0));
        let id = session.next_id();
        let frame = writer.logon(id, venue_ms(), creds).to_string();
        match session.call(id, &frame) {
            Ok(_) => logged_on = true,
            Err(e) => {
                let why = refusal_text(&e);
                return (
                    Check::fail("venue-keys", format!("session.logon: {why}")),
                    Err(format!("not checked: {why}")),
                );
            }
        }
    }
    if !spot {
        let key = if logged_on {
            Check::pass("venue-keys", format!("session.logon accepted ({creds})"))
        } else {
            Check::warn(
                "venue-keys",
                "not checked: HMAC keys on USD-M are only used by the order API itself",
            )
        };
        let acc = Err("not checked on USD-M (this checklist reads spot account.status only): check the margin balance in the venue's UI".to_string());
        return (key, acc);
    }
    let id = session.next_id();
    let frame = account_status_frame(id, logged_on, venue_ms(), v.recv_window_ms, creds);
    match session.call(id, &frame) {
        Ok(result) => {
            let how = if logged_on {
                "session.logon and account.status"
            } else {
                "signed account.status"
            };
            (
                Check::pass("venue-keys", format!("{how} accepted ({creds})")),
                balances::parse_account(&result),
            )
        }
        Err(e) => {
            let why = refusal_text(&e);
            let key_refused = matches!(&e, CallError::Refused(r) if matches!(r.code, -2015 | -2014 | -1022 | -1021 | -1002));
            let key = if logged_on && !key_refused {
                Check::pass("venue-keys", format!("session.logon accepted ({creds})"))
            } else {
                Check::fail("venue-keys", format!("account.status: {why}"))
            };
            (key, Err(format!("account.status: {why}")))
        }
    }
}

/// `account.status`: signed per request (HMAC, or Ed25519 without a session), or with the
/// timestamp only on a logged-on session.
pub fn account_status_frame(
    id: u64,
    logged_on: bool,
    timestamp_ms: i64,
    recv_window_ms: u64,
    creds: &Credentials,
) -> String {
    let ts = timestamp_ms.to_string();
    let rw = recv_window_ms.to_string();
    let mut params: Vec<(&str, String)> = vec![("timestamp", ts)];
    if recv_window_ms > 0 {
        params.push(("recvWindow", rw));
    }
    if !logged_on {
        params.push(("apiKey", creds.api_key().to_string()));
        let payload = sign::ws_payload(&params);
        params.push(("signature", creds.sign(payload.as_bytes())));
    }
    let mut map = serde_json::Map::new();
    for (k, val) in params {
        let value = match k {
            "timestamp" | "recvWindow" => val
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(val)),
            _ => Value::String(val),
        };
        map.insert(k.to_string(), value);
    }
    serde_json::json!({"id": id.to_string(), "method": "account.status", "params": map}).to_string()
}

/// What a refusal means for the operator.
fn refusal_text(e: &CallError) -> String {
    match e {
        CallError::Refused(r) => {
            let hint = match r.code {
                -2015 | -2014 => {
                    ": the venue does not accept this API key (wrong key, IP not whitelisted, or no trade permission)"
                }
                -1022 => {
                    ": the signature does not verify (the secret does not belong to this API key)"
                }
                -1021 => ": timestamp outside recvWindow (clock)",
                -1020 => ": the venue does not support this method",
                _ => "",
            };
            format!("{r}{hint}")
        }
        CallError::Transport(why) => why.clone(),
    }
}

/// The venue's REST time endpoint.
fn time_url(cfg: &Config) -> String {
    let path = match cfg.venue.market {
        Market::Spot => "/api/v3/time",
        Market::UsdM => "/fapi/v1/time",
        Market::CoinM => "/dapi/v1/time",
    };
    cfg.venue.rest.with_path(path).to_string()
}

/// Each instrument's best ask from a 5-level REST depth snapshot (`None` when it fails).
fn best_asks(cfg: &Config, timeout: Duration) -> Vec<Option<String>> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(true)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    cfg.instruments
        .iter()
        .map(|(_, spec)| {
            let path = match spec.market {
                Market::Spot => "/api/v3/depth",
                Market::UsdM => "/fapi/v1/depth",
                Market::CoinM => "/dapi/v1/depth",
            };
            let url = cfg
                .venue
                .rest
                .with_path(&format!("{path}?symbol={}&limit=5", spec.symbol.as_str()))
                .to_string();
            let mut body = Vec::new();
            agent
                .get(&url)
                .call()
                .ok()?
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .reader()
                .read_to_end(&mut body)
                .ok()?;
            let v: Value = serde_json::from_slice(&body).ok()?;
            v.get("asks")?.get(0)?.get(0)?.as_str().map(str::to_string)
        })
        .collect()
}
