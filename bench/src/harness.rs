//! The engine as a real process against the simulator: finding the `obi-engine` binary,
//! an Ed25519 key pair for the order API, owner-only key files, and the engine config that
//! points at a simulator. Used by the live demo, the wire-to-wire benchmark and the tests.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `obi-engine` binary next to the running executable (`target/<profile>/`), built
/// with cargo when absent (for example when only this package was built).
///
/// An existing binary is used as it is: `cargo test --workspace` (the test command) builds
/// it fresh, but `cargo test -p obi-bench` alone does not rebuild another package's binary,
/// so run `cargo build -p obi-engine` first when testing this package on its own. (Building
/// it from here every time would resolve features differently from the workspace build and
/// relink the binary under other tests.)
pub fn engine_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("obi-engine");
    if bin.exists() {
        return Ok(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-q", "-p", "obi-engine", "--bin", "obi-engine"]);
    if dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status()?;
    anyhow::ensure!(
        status.success() && bin.exists(),
        "cannot build {}",
        bin.display()
    );
    Ok(bin)
}

/// A fresh, empty directory `name` under `base` (tests pass `CARGO_TARGET_TMPDIR`).
pub fn fresh_dir(base: &Path, name: &str) -> std::io::Result<PathBuf> {
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// An Ed25519 key pair from a seed: (private key as PKCS#8 PEM, public key as hex).
pub fn ed25519_keys(seed: [u8; 32]) -> anyhow::Result<(String, String)> {
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the key: {e}"))?
        .to_string();
    Ok((pem, hex::encode(key.verifying_key().to_bytes())))
}

/// An engine key for a simulator: writes the Ed25519 key made from `seed` to
/// `dir/api-key.pem` (owner-only, as the engine requires) and makes `cfg` accept it under
/// the name `api_key`. Returns the key file's path for [`EngineSetup::new`].
pub fn authorize(
    dir: &Path,
    cfg: &mut crate::sim::SimConfig,
    seed: [u8; 32],
    api_key: &str,
) -> anyhow::Result<PathBuf> {
    let (pem, public_hex) = ed25519_keys(seed)?;
    let secret = dir.join("api-key.pem");
    write_owner_only(&secret, &pem)?;
    cfg.auth.api_key = Some(api_key.to_owned());
    cfg.auth.ed25519_public_key = Some(public_hex);
    Ok(secret)
}

/// Writes `text` to `path`, readable by the owner only (as the engine requires of keys).
pub fn write_owner_only(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(text.as_bytes())
}

/// What the engine config for a simulator run says.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    /// Simulator address, `127.0.0.1:PORT`.
    pub sim_addr: String,
    /// `live` (orders to the simulator) or `paper`.
    pub mode: &'static str,
    /// The owner-only Ed25519 key file.
    pub secret_file: PathBuf,
    /// Environment variable the engine reads the API key from.
    pub api_key_env: &'static str,
    /// Stats file.
    pub stats: PathBuf,
    /// `spin` or `block`.
    pub poll_mode: &'static str,
    /// Pin the core thread here.
    pub core_id: Option<usize>,
    /// Extra `[strategy]` lines (`key = value`).
    pub strategy: Vec<String>,
    /// Extra `[venue]` lines.
    pub venue: Vec<String>,
    /// Extra `[safety.breakers]` lines.
    pub breakers: Vec<String>,
    /// Extra TOML appended at the end (whole sections, e.g. `[safety.flatten]`).
    pub extra: Vec<String>,
}

impl EngineSetup {
    /// Defaults for a simulator at `sim_addr` with keys in `secret_file` and stats in `stats`.
    pub fn new(sim_addr: String, secret_file: PathBuf, stats: PathBuf) -> EngineSetup {
        EngineSetup {
            sim_addr,
            mode: "live",
            secret_file,
            api_key_env: "OBI_SIM_API_KEY",
            stats,
            poll_mode: "block",
            core_id: None,
            strategy: Vec::new(),
            venue: Vec::new(),
            breakers: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The engine's TOML config.
    pub fn toml(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "[engine]");
        let _ = writeln!(t, "shm_path = {:?}", self.stats.display().to_string());
        let _ = writeln!(
            t,
            "state_dir = {:?}",
            format!("{}.state", self.stats.display())
        );
        let _ = writeln!(t, "publish_interval_ms = 20");
        let _ = writeln!(t, "poll_mode = {:?}", self.poll_mode);
        if let Some(core) = self.core_id {
            let _ = writeln!(t, "core_id = {core}");
        }
        let _ = writeln!(
            t,
            "\n[[instruments]]\nsymbol = \"ETHUSDT\"\nmarket = \"spot\"\ntick_size = \"0.01\"\nlot_size = \"0.001\"\n"
        );
        let _ = writeln!(t, "[strategy]");
        for line in &self.strategy {
            let _ = writeln!(t, "{line}");
        }
        let _ = writeln!(t, "\n[risk]\nmax_orders_per_sec = 50\n");
        let a = &self.sim_addr;
        let _ = writeln!(t, "[venue]");
        let _ = writeln!(t, "mode = {:?}", self.mode);
        let _ = writeln!(t, "rest_url = \"http://{a}\"");
        let _ = writeln!(t, "stream_url = \"ws://{a}\"");
        let _ = writeln!(t, "ws_api_url = \"ws://{a}/ws-api/v3\"");
        let _ = writeln!(t, "key_kind = \"ed25519\"");
        let _ = writeln!(t, "api_key_env = {:?}", self.api_key_env);
        let _ = writeln!(t, "secret_env = \"OBI_SIM_SECRET_UNUSED\"");
        let _ = writeln!(
            t,
            "secret_file = {:?}",
            self.secret_file.display().to_string()
        );
        for line in &self.venue {
            let _ = writeln!(t, "{line}");
        }
        let _ = writeln!(t, "\n[safety.breakers]");
        for line in &self.breakers {
            let _ = writeln!(t, "{line}");
        }
        for line in &self.extra {
            let _ = writeln!(t, "{line}");
        }
        t
    }
}
