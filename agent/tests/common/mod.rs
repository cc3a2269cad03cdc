//! Shared helpers for the agent's integration tests: a temp state dir, a stats file written
//! with `obi_shm::StatsWriter`, and a request helper over `oneshot`.
#![allow(dead_code)]
// Test helpers: a failing unwrap is a failing test, as clippy.toml allows inside #[test] fns.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use obi_agent::config::Config;
use obi_agent::engine::unix_now_ns;
use obi_agent::secrets::Secret;
use obi_agent::{AppState, Secrets};
use obi_shm::{GaugeId, InstrumentGaugeId, StatsWriter, WriterInfo};
use tower::ServiceExt as _;

pub const TOKEN: &str = "test-token-0123456789abcdef";
pub const TOTP_B32: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
pub const SYMBOLS: &[&str] = &["BTCUSDT", "ETHUSDT"];

/// A temp dir holding the state dir and the stats file path.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub shm_path: PathBuf,
    pub state_dir: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let shm_path = dir.path().join("obi-engine.stats");
        let state_dir = dir.path().join("state");
        std::fs::create_dir_all(&state_dir).unwrap();
        Self {
            dir,
            shm_path,
            state_dir,
        }
    }

    pub fn config_toml(&self, extra_control: &str) -> String {
        format!(
            "[engine]\nshm_path = {:?}\nstate_dir = {:?}\nheartbeat_stale_ms = 2000\nmin_free_disk_mib = 0\n\n[control]\nmax_failed_auth = 3\n{extra_control}\n",
            self.shm_path.display().to_string(),
            self.state_dir.display().to_string(),
        )
    }

    pub fn config(&self) -> Config {
        Config::from_toml(&self.config_toml("")).unwrap()
    }

    pub fn state(&self, token: bool, totp: bool) -> AppState {
        let secrets = Secrets {
            token: token.then(|| Secret::new(TOKEN)),
            totp_secret: totp.then(|| Secret::new(TOTP_B32)),
            alert_sinks: Vec::new(),
        };
        AppState::new(self.config(), secrets).unwrap()
    }

    pub fn kill_file(&self) -> PathBuf {
        self.state_dir.join("KILL")
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        let text =
            std::fs::read_to_string(self.state_dir.join("agent-audit.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A healthy engine: fresh heartbeat, valid books, no kill.
    pub fn start_engine(&self, pid: u32) -> StatsWriter {
        let now = unix_now_ns();
        let info = WriterInfo {
            pid,
            start_unix_ns: now,
            instruments: SYMBOLS,
        };
        let mut w = StatsWriter::create(&self.shm_path, &info).unwrap();
        w.heartbeat(now);
        publish_healthy(&mut w);
        w
    }
}

pub fn publish_healthy(w: &mut StatsWriter) {
    w.publish(|g| {
        g.set(GaugeId::LatencyP99Ns, 850);
        g.set(GaugeId::RealizedPnlQuoteMicros, -1_250_000);
        g.set(GaugeId::LastPublishUnixNs, unix_now_ns() as i64);
        for i in 0..SYMBOLS.len() {
            g.set_instrument(i, InstrumentGaugeId::BookValid, 1);
            g.set_instrument(i, InstrumentGaugeId::FeedLagMs, 12);
            g.set_instrument(i, InstrumentGaugeId::ObiPpm, -250_000);
        }
    });
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub async fn send(state: &AppState, req: Request<Body>) -> Reply {
    let resp = obi_agent::app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub async fn get(state: &AppState, uri: &str) -> Reply {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub fn post(uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    let mut b = Request::post(uri).header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

pub fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// Writes the stderr line the harness cannot capture (visible even when the test passes).
pub fn say(line: &str) {
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open("/dev/stderr") {
        let _ = writeln!(f, "{line}");
    }
}
