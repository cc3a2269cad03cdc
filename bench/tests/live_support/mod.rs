//! Running the real `obi-engine` binary against the simulator: finding (or building) the
//! binary, writing its config, and an Ed25519 key pair for the API.

#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `obi-engine` binary of this build profile (built on demand when absent, e.g. when
/// only this package's tests were built).
pub fn engine_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = profile_dir.join("obi-engine");
    if !bin.exists() {
        let release = profile_dir.ends_with("release");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "-p", "obi-engine", "--bin", "obi-engine"]);
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo build obi-engine");
        assert!(status.success(), "building obi-engine failed");
    }
    bin
}

/// A fixed test key pair: (private key PKCS#8 PEM, public key hex).
pub fn ed25519_keys() -> (String, String) {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .expect("pem")
        .to_string();
    (pem, hex::encode(key.verifying_key().to_bytes()))
}

/// Writes `text` to `path` readable by the owner only.
pub fn write_owner_only(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// A fresh scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// An engine config trading the simulator at `base` (`127.0.0.1:PORT`).
pub fn engine_config(base: &str, mode: &str, secret_file: &Path, stats: &Path) -> String {
    format!(
        r#"
[engine]
shm_path = "{stats}"
publish_interval_ms = 20
poll_mode = "block"
stop_grace_ms = 5000

[[instruments]]
symbol = "ETHUSDT"
market = "spot"
tick_size = "0.01"
lot_size = "0.001"

[strategy]
order_qty_lots = 10
long_threshold = 0.2
short_threshold = 0.2
confirm_ms = 50
cooldown_ms = 200
time_stop_ms = 3000

[risk]
max_orders_per_sec = 50

[venue]
mode = "{mode}"
rest_url = "http://{base}"
stream_url = "ws://{base}"
ws_api_url = "ws://{base}/ws-api/v3"
stale_feed_ms = 1000
reconnect_initial_ms = 50
reconnect_max_ms = 1000
connect_timeout_ms = 2000
snapshot_min_interval_ms = 200
key_kind = "ed25519"
api_key_env = "OBI_TEST_API_KEY"
secret_env = "OBI_TEST_API_SECRET_UNSET"
secret_file = "{secret}"
"#,
        stats = stats.display(),
        secret = secret_file.display(),
    )
}
