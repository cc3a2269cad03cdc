//! The whole tick path on the real USD-M recording from memory: parse, sync, book, signals,
//! strategy, risk, intent ring, paper venue and reports — frames per second on one core.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use obi_engine::config::Config;
use obi_engine::instrument::InstrumentId;
use obi_engine::replay::ReplaySession;

fn bench_pipeline(c: &mut Criterion) {
    let Some(frames) = common::usdm_frames() else {
        return;
    };
    let insts = obi_bench::data::eth_usdm_instruments();
    let cfg = Config::with_instruments(insts);
    let mut group = c.benchmark_group("pipeline_usdm_recording");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.sample_size(10);
    let mut buf = Vec::with_capacity(1 << 20);
    group.bench_function("replay_session_all_frames", |b| {
        b.iter(|| {
            let mut session = ReplaySession::new(&cfg, None);
            for (ns, f) in &frames {
                buf.clear();
                buf.extend_from_slice(f);
                session.on_frame(&mut buf, *ns, Some(InstrumentId(0)));
            }
            session.tick().counters.diffs_applied
        })
    });
    group.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
