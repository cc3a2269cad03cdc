//! HTTP latency of the real `obi-agent serve` at a fixed request rate on loopback, plus its
//! RSS and idle CPU from /proc. Reported, never asserted.
//!
//! `cargo bench -p obi-agent --bench http` runs the full measurement (10 s per endpoint at
//! 1,000 req/s); `cargo test` runs it in a quick mode (0.3 s per endpoint) so it never rots.
//!
//! Method: the bench writes a stats file with `obi_shm::StatsWriter` (two instruments, every
//! registry entry, heartbeat refreshed every 100 ms from a thread), starts the agent binary
//! on a free 127.0.0.1 port, and sends GETs open-loop: one request every millisecond on a
//! schedule, each on its own task over a keep-alive pool, latency measured from the
//! scheduled send time to the last body byte (so a stalled server shows up as queueing,
//! not as fewer samples). Idle CPU is utime+stime over 20 s (1 s quick) with no requests.
// A benchmark harness: failing unwraps abort the run with a message.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use obi_shm::{CounterId, GaugeId, InstrumentGaugeId, StatsWriter, WriterInfo};

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Clock ticks per second for /proc/<pid>/stat (USER_HZ; 100 on every Linux we run).
const TICKS_PER_SEC: f64 = 100.0;

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime is the 14th field
    // overall, i.e. index 11 after ") ".
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The 1-minute load average, to show how busy the machine was.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split(' ').next().map(str::to_string))
        .unwrap_or_default()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

async fn measure(client: &reqwest::Client, url: &str, rate_per_s: u64, dur: Duration) -> Vec<u64> {
    let n = (rate_per_s as f64 * dur.as_secs_f64()) as usize;
    let period = Duration::from_nanos(1_000_000_000 / rate_per_s);
    let start = tokio::time::Instant::now() + Duration::from_millis(10);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + period * u32::try_from(i).unwrap();
        tokio::time::sleep_until(at).await;
        let c = client.clone();
        let u = url.to_string();
        tasks.push(tokio::spawn(async move {
            let r = c.get(&u).send().await.unwrap();
            assert!(r.status().as_u16() == 200 || r.status().as_u16() == 503);
            let _ = r.bytes().await.unwrap();
            at.elapsed().as_nanos() as u64
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out.sort_unstable();
    out
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let per_endpoint = if full {
        Duration::from_secs(10)
    } else {
        Duration::from_millis(300)
    };
    let idle = if full {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(1)
    };
    let load_before = loadavg();

    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("bench.stats");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let now = unix_ns();
    let info = WriterInfo {
        pid: std::process::id(),
        start_unix_ns: now,
        instruments: &["BTCUSDT", "ETHUSDT"],
    };
    let mut writer = StatsWriter::create(&shm, &info).unwrap();
    for &id in CounterId::ALL {
        writer.set_counter(id, 1_000);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let publisher = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            let t = unix_ns();
            writer.publish(|g| {
                for &id in GaugeId::ALL {
                    g.set(id, 1);
                }
                g.set(GaugeId::KillState, 0);
                g.set(GaugeId::RiskState, 0);
                for i in 0..2 {
                    for &id in InstrumentGaugeId::ALL {
                        g.set_instrument(i, id, 1);
                    }
                    g.set_instrument(i, InstrumentGaugeId::LastReceiptUnixNs, t as i64);
                }
            });
            writer.heartbeat(t);
            std::thread::sleep(Duration::from_millis(100));
        }
    });

    let port = free_port();
    let cfg = dir.path().join("agent.toml");
    std::fs::write(
        &cfg,
        format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\n[engine]\nshm_path = {:?}\nstate_dir = {:?}\nmin_free_disk_mib = 0\n[backup]\nenabled = false\ndir = {:?}\n",
            shm.display().to_string(),
            state.display().to_string(),
            dir.path().join("backups").display().to_string()
        ),
    )
    .unwrap();
    let agent = Agent(
        Command::new(env!("CARGO_BIN_EXE_obi-agent"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = agent.0.id();
    let base = format!("http://127.0.0.1:{port}");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            assert!(Instant::now() < deadline, "agent did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Settle, then idle CPU and RSS before load.
    std::thread::sleep(Duration::from_millis(300));
    let rss_idle = rss_kib(pid);
    let t0 = cpu_ticks(pid);
    std::thread::sleep(idle);
    let idle_cpu_pct = (cpu_ticks(pid) - t0) as f64 / TICKS_PER_SEC / idle.as_secs_f64() * 100.0;

    let mut lines = Vec::new();
    for path in ["/metrics", "/healthz", "/healthz/detailed"] {
        let url = format!("{base}{path}");
        let lat = rt.block_on(measure(&client, &url, 1_000, per_endpoint));
        lines.push(format!(
            "  {path:<18} n={:<6} p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
            lat.len(),
            pct(&lat, 0.50),
            pct(&lat, 0.99),
            pct(&lat, 0.999),
            *lat.last().unwrap() as f64 / 1e6
        ));
    }
    let rss_after = rss_kib(pid);
    let body_bytes = rt.block_on(async {
        client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len()
    });
    stop.store(true, Ordering::Relaxed);
    publisher.join().unwrap();
    drop(agent);

    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "obi-agent http ({} mode, {} s per endpoint at 1000 req/s, open loop, loopback)",
        if full { "full" } else { "quick" },
        per_endpoint.as_secs_f64()
    );
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(
        out,
        "  /metrics body     {body_bytes} bytes (2 instruments, every registry entry)"
    );
    let _ = writeln!(
        out,
        "  RSS               {rss_idle} KiB idle, {rss_after} KiB after load"
    );
    let _ = writeln!(
        out,
        "  idle CPU          {idle_cpu_pct:.2} % of one core over {} s (200 ms polls + alert rules; resolution {:.2} %)",
        idle.as_secs_f64(),
        100.0 / TICKS_PER_SEC / idle.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "  load average      {load_before} before, {} after (other processes share the machine)",
        loadavg()
    );
}
