//! Check: the local clock against the venue's `time`, measured at the midpoint of each
//! request's round trip; the sample with the shortest round trip is the estimate.

use super::verdict::Check;
use super::wsapi::{CallError, Session};
use std::io::Read as _;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

const ID: &str = "clock";

/// Hard ceiling on the offset, ms, whatever `recvWindow` is.
pub const MAX_OFFSET_MS: i64 = 1000;
/// Offsets above this warn, ms (an NTP-synced host is well below it).
pub const WARN_OFFSET_MS: i64 = 250;

/// One `time` request: local send and receive times and the venue's `serverTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSample {
    /// Local wall clock when the request was sent, Unix ns.
    pub sent_ns: u64,
    /// The venue's `serverTime`, Unix ms.
    pub server_ms: u64,
    /// Local wall clock when the answer arrived, Unix ns.
    pub received_ns: u64,
}

/// The offset estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Venue clock minus local clock, ms (positive: the local clock is behind).
    pub offset_ms: i64,
    /// Round trip of the sample used, ms.
    pub rtt_ms: i64,
}

/// The estimate from the sample with the shortest round trip (`None` without samples).
pub fn estimate(samples: &[TimeSample]) -> Option<Estimate> {
    let best = samples
        .iter()
        .min_by_key(|s| s.received_ns.saturating_sub(s.sent_ns))?;
    let mid_ns =
        i128::from(best.sent_ns) + (i128::from(best.received_ns) - i128::from(best.sent_ns)) / 2;
    let offset_ns = i128::from(best.server_ms) * 1_000_000 - mid_ns;
    let rtt_ns = i128::from(best.received_ns) - i128::from(best.sent_ns);
    Some(Estimate {
        offset_ms: i64::try_from(offset_ns / 1_000_000).unwrap_or(i64::MAX),
        rtt_ms: i64::try_from(rtt_ns / 1_000_000).unwrap_or(i64::MAX),
    })
}

/// The offset limit that fails, ms: 1000 or half of `recv_window_ms`, whichever is less.
pub fn fail_limit_ms(recv_window_ms: u64) -> i64 {
    i64::try_from(recv_window_ms / 2)
        .unwrap_or(i64::MAX)
        .min(MAX_OFFSET_MS)
}

/// PASS below [`WARN_OFFSET_MS`] (or half the fail limit, if smaller), WARN below the fail
/// limit, FAIL at or above it.
pub fn judge(est: &Estimate, recv_window_ms: u64) -> Check {
    let fail = fail_limit_ms(recv_window_ms);
    let warn = WARN_OFFSET_MS.min(fail / 2);
    let off = est.offset_ms.abs();
    let text = format!(
        "offset {:+} ms to the venue (round trip {} ms; fail at {fail} ms = min(1000, recvWindow {recv_window_ms} / 2))",
        est.offset_ms, est.rtt_ms
    );
    if off >= fail {
        Check::fail(
            ID,
            format!(
                "{text}: signed requests would be refused; sync the clock (timedatectl, chrony)"
            ),
        )
    } else if off > warn {
        Check::warn(ID, format!("{text}: above {warn} ms; check NTP sync"))
    } else {
        Check::pass(ID, text)
    }
}

/// Unix time now, ns.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Sends `count` `time` requests on `session`.
pub fn sample(session: &mut Session, count: usize) -> Result<Vec<TimeSample>, CallError> {
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let id = session.next_id();
        let frame = format!("{{\"id\":\"{id}\",\"method\":\"time\"}}");
        let sent_ns = now_ns();
        let result = session.call(id, &frame)?;
        let received_ns = now_ns();
        out.push(TimeSample {
            sent_ns,
            server_ms: server_time(&result).map_err(CallError::Transport)?,
            received_ns,
        });
    }
    Ok(out)
}

/// `count` samples from a REST time endpoint (`GET {rest}/api/v3/time` or
/// `/fapi/v1/time`, body `{"serverTime": ms}`), for venues whose WS API has no `time`.
pub fn sample_rest(url: &str, timeout: Duration, count: usize) -> Result<Vec<TimeSample>, String> {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(true)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let sent_ns = now_ns();
        let mut body = Vec::new();
        agent
            .get(url)
            .call()
            .map_err(|e| format!("{url}: {e}"))?
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .reader()
            .read_to_end(&mut body)
            .map_err(|e| format!("{url}: {e}"))?;
        let received_ns = now_ns();
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
        out.push(TimeSample {
            sent_ns,
            server_ms: server_time(&v)?,
            received_ns,
        });
    }
    Ok(out)
}

fn server_time(v: &serde_json::Value) -> Result<u64, String> {
    v.get("serverTime")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| format!("no serverTime in {v}"))
}
