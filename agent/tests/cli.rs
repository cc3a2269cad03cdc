//! The binary: `check-config` errors and exit codes, owner-only secret files, `--help`, and
//! `serve` answering on 127.0.0.1 then shutting down cleanly on SIGTERM.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn agent() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_obi-agent"));
    c.env_remove("OBI_AGENT_TOKEN")
        .env_remove("OBI_AGENT_TOTP_SECRET")
        .env("RUST_LOG", "warn");
    c
}

fn check_config(path: &Path) -> Output {
    agent()
        .args(["check-config", "--config"])
        .arg(path)
        .output()
        .expect("run obi-agent")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn write(dir: &Path, name: &str, body: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

#[test]
fn help_lists_subcommands() {
    let out = agent().arg("--help").output().expect("run");
    assert!(out.status.success());
    let t = text(&out);
    for needle in [
        "serve",
        "check-config",
        "backup",
        "restore",
        "OBI_AGENT_TOKEN",
    ] {
        assert!(t.contains(needle), "{needle} missing from --help:\n{t}");
    }
}

#[test]
fn bad_configs_exit_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("[http]\nlisten_addr = \"127.0.0.1:1\"\n", "listen_addr"),
        ("[http]\nlisten = \"0.0.0.0:9464\"\n", "allow_non_loopback"),
        ("[http]\nlisten = \"nowhere\"\n", "http.listen"),
        (
            "[engine]\nheartbeat_stale_ms = 0\n",
            "engine.heartbeat_stale_ms",
        ),
        ("not toml [", "invalid config"),
    ];
    for (i, (body, needle)) in cases.iter().enumerate() {
        let path = write(dir.path(), &format!("c{i}.toml"), body, 0o644);
        let out = check_config(&path);
        assert!(!out.status.success(), "{body} was accepted");
        let t = text(&out);
        assert!(t.contains(needle), "{body}: expected {needle} in:\n{t}");
    }
    let out = check_config(&dir.path().join("missing.toml"));
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot read config"));
}

#[test]
fn secret_files_must_be_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = write(dir.path(), "token", "0123456789abcdef-secret\n", 0o644);
    let config = write(
        dir.path(),
        "agent.toml",
        &format!(
            "[control]\ntoken_file = {:?}\n",
            token.display().to_string()
        ),
        0o644,
    );
    let out = check_config(&config);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("owner-only") && t.contains("chmod 600"), "{t}");
    assert!(!t.contains("0123456789abcdef-secret"), "secret leaked: {t}");

    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = check_config(&config);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("config ok") && t.contains("enabled (bearer token)"),
        "{t}"
    );
    assert!(!t.contains("0123456789abcdef-secret"), "secret leaked: {t}");
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn serve_answers_then_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = write(
        dir.path(),
        "agent.toml",
        &format!(
            "[http]\nlisten = {addr:?}\n[engine]\nshm_path = {:?}\nstate_dir = {:?}\nmin_free_disk_mib = 0\n",
            dir.path().join("none.stats").display().to_string(),
            dir.path().display().to_string(),
        ),
        0o644,
    );
    let mut child = agent()
        .args(["serve", "--config"])
        .arg(&config)
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        if let Some(r) = http_get(&addr, "/healthz") {
            break r;
        }
        assert!(Instant::now() < deadline, "agent did not answer on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(reply.contains("engine not running"), "{reply}");
    let metrics = http_get(&addr, "/metrics").expect("metrics");
    assert!(metrics.contains("obi_agent_up 1"), "{metrics}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("agent did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status {exit:?}");
}

#[test]
fn example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("agent.example.toml");
    let out = check_config(&path);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn alert_webhook_urls_are_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret_url = "https://hooks.example.invalid/services/T000/B000/very-secret-part";
    let url_file = write(dir.path(), "hook-url", secret_url, 0o644);
    let config = write(
        dir.path(),
        "agent.toml",
        &format!(
            "[[alerts.sinks]]\nname = \"ops\"\nkind = \"slack\"\nurl_file = {:?}\n[[alerts.sinks]]\nname = \"env-hook\"\nkind = \"webhook\"\nurl_env = \"OBI_TEST_ALERT_URL\"\n",
            url_file.display().to_string()
        ),
        0o644,
    );
    let out = check_config(&config);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("alert sink ops") && t.contains("chmod 600"),
        "{t}"
    );
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = check_config(&config);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("alert sink env-hook") && t.contains("OBI_TEST_ALERT_URL"),
        "{t}"
    );
    let out = agent()
        .args(["check-config", "--config"])
        .arg(&config)
        .env("OBI_TEST_ALERT_URL", format!("{secret_url}/2"))
        .output()
        .expect("run");
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("alert sinks       2"), "{t}");
    assert!(!t.contains("very-secret-part"), "secret leaked: {t}");
}

#[test]
fn restore_is_refused_while_the_engine_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shm = dir.path().join("engine.stats");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    std::fs::write(state.join("checkpoint"), "1").expect("write");
    let config = write(
        dir.path(),
        "agent.toml",
        &format!(
            "[engine]\nshm_path = {:?}\nstate_dir = {:?}\n[backup]\ndir = {:?}\n",
            shm.display().to_string(),
            state.display().to_string(),
            dir.path().join("backups").display().to_string()
        ),
        0o644,
    );
    let out = agent()
        .args(["backup", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let archive = obi_agent::backup::catalog::latest(&dir.path().join("backups")).expect("archive");

    let now = obi_agent::engine::unix_now_ns();
    let mut engine = obi_shm::StatsWriter::create(
        &shm,
        &obi_shm::WriterInfo {
            pid: std::process::id(),
            start_unix_ns: now,
            instruments: &["ETHUSDT"],
        },
    )
    .expect("stats file");
    engine.heartbeat(now);
    let out = agent()
        .args(["restore", "--config"])
        .arg(&config)
        .arg(&archive)
        .output()
        .expect("run");
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("refusing to restore: the engine is running"),
        "{t}"
    );
}
