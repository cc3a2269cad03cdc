//! The latency harness: a recording replayed from memory through the full tick path on a
//! pinned core, with receipt → intent percentiles, throughput and the machine described.
//!
//! Frames are loaded first (reading and decompressing are not measured), then fed one by
//! one to `ReplaySession::on_frame` exactly as `obi-engine replay` does: each frame is
//! stamped with `quanta` at "receipt", and the tick path records receipt → intent pushed.
//! One cold pass: the first frames include the books and buffers growing to working size
//! (the per-frame max shows it); the criterion `pipeline` benchmark gives the warm figure.

use obi_engine::config::Config;
use obi_engine::instrument::{InstrumentId, Instruments};
use obi_engine::replay::ReplaySession;
use obi_engine::replay::scan::{derived_instruments, stream_symbol};
use obi_engine::replay::source::RecordingSource;
use obi_engine::runtime::Percentiles;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The machine a run was taken on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model (`/proc/cpuinfo` "model name").
    pub cpu_model: String,
    /// Logical CPUs available.
    pub cores: usize,
    /// CPU frequency governor of the pinned core, if readable.
    pub governor: Option<String>,
    /// Kernel release.
    pub kernel: String,
    /// Core the measuring thread was pinned to, if pinning worked.
    pub pinned_core: Option<usize>,
}

impl Machine {
    /// Reads what the system tells; `cores` is counted before pinning narrows the view.
    pub fn describe(cores: usize, pinned_core: Option<usize>) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let governor = pinned_core.and_then(|c| {
            std::fs::read_to_string(format!(
                "/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor"
            ))
            .ok()
            .map(|g| g.trim().to_string())
        });
        Machine {
            cpu_model,
            cores,
            governor,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |k| k.trim().to_string()),
            pinned_core,
        }
    }
}

/// One harness run.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyReport {
    /// Recordings replayed.
    pub recordings: Vec<PathBuf>,
    /// Frames fed.
    pub frames: u64,
    /// Frames per second of wall time over the feeding loop.
    pub frames_per_sec: f64,
    /// Receipt → intent pushed, ns.
    pub receipt_to_intent_ns: Percentiles,
    /// Receipt → tick path done, every frame, ns.
    pub per_frame_ns: Percentiles,
    /// Sequence health, to show the run was valid.
    pub gaps: u64,
    /// bookTickers that disagreed with the book.
    pub oracle_mismatches: u64,
    /// Where it ran.
    pub machine: Machine,
}

/// A frame held in memory.
struct Loaded {
    local_ns: u64,
    snapshot_for: Option<InstrumentId>,
    json: Vec<u8>,
}

fn config_for(paths: &[PathBuf]) -> anyhow::Result<Config> {
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (instruments, _) = derived_instruments(&refs)?;
    let mut cfg = Config::with_instruments(instruments);
    cfg.engine.shm_enabled = false;
    Ok(cfg)
}

fn load(paths: &[PathBuf], instruments: &Instruments) -> anyhow::Result<Vec<Loaded>> {
    let mut out = Vec::new();
    for path in paths {
        let mut source = RecordingSource::open(path)?;
        let mut file_symbol: Option<InstrumentId> =
            (instruments.len() == 1).then_some(InstrumentId(0));
        let start = out.len();
        while let Some(frame) = source.next_frame()? {
            let snapshot_for = frame
                .snapshot_symbol
                .and_then(|s| instruments.lookup(s.as_bytes()));
            if file_symbol.is_none() && !frame.is_snapshot {
                file_symbol =
                    stream_symbol(frame.json).and_then(|s| instruments.lookup(s.as_bytes()));
            }
            out.push(Loaded {
                local_ns: frame.local_ns,
                snapshot_for,
                json: frame.json.to_vec(),
            });
        }
        // Bare snapshots in collector files belong to the file's symbol.
        for f in &mut out[start..] {
            if f.snapshot_for.is_none() {
                f.snapshot_for = file_symbol;
            }
        }
    }
    Ok(out)
}

/// Loads `paths`, pins to `core` (if given and possible), replays, reports.
pub fn run(
    paths: &[PathBuf],
    config: Option<&Path>,
    core: Option<usize>,
) -> anyhow::Result<LatencyReport> {
    let cfg = match config {
        Some(p) => Config::load(p)?,
        None => config_for(paths)?,
    };
    let frames = load(paths, &cfg.instruments)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = core.filter(|&id| core_affinity::set_for_current(core_affinity::CoreId { id }));
    let mut session = ReplaySession::new(&cfg, None);
    let max_len = frames.iter().map(|f| f.json.len()).max().unwrap_or(0);
    let mut buf = Vec::with_capacity(max_len);
    let started = Instant::now();
    for f in &frames {
        buf.clear();
        buf.extend_from_slice(&f.json);
        session.on_frame(&mut buf, f.local_ns, f.snapshot_for);
    }
    let elapsed = started.elapsed();
    let tick = session.tick();
    Ok(LatencyReport {
        recordings: paths.to_vec(),
        frames: frames.len() as u64,
        frames_per_sec: frames.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        receipt_to_intent_ns: tick.intent_latency.percentiles(),
        per_frame_ns: tick.frame_latency.percentiles(),
        gaps: tick.counters.gaps,
        oracle_mismatches: tick.counters.oracle_mismatches,
        machine: Machine::describe(cores, pinned),
    })
}

impl LatencyReport {
    /// For a person.
    pub fn to_text(&self) -> String {
        let m = &self.machine;
        let row = |p: &Percentiles| {
            format!(
                "p50 {} ns  p90 {} ns  p99 {} ns  p99.9 {} ns  max {} ns  (n={})",
                p.p50, p.p90, p.p99, p.p999, p.max, p.count
            )
        };
        format!(
            "obi latency harness\n  machine        {} ({} cores), kernel {}, governor {}, pinned to {}\n  frames         {} in memory, {:.0} frames/s on one core\n  receipt→intent {}\n  per frame      {}\n  sequence       {} gaps, {} oracle mismatches\n",
            m.cpu_model,
            m.cores,
            m.kernel,
            m.governor.as_deref().unwrap_or("not readable"),
            m.pinned_core.map_or_else(
                || "no core (pinning failed or off)".to_string(),
                |c| format!("core {c}")
            ),
            self.frames,
            self.frames_per_sec,
            row(&self.receipt_to_intent_ns),
            row(&self.per_frame_ns),
            self.gaps,
            self.oracle_mismatches
        )
    }
}
