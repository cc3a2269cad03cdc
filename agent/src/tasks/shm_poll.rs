//! Polls the engine's stats file every `engine.poll_interval_ms` and stores the snapshot,
//! logging reader-state changes (not every poll), then runs the alert rules over it.

use tokio::sync::watch;

use crate::state::AppState;

/// Runs until `shutdown` turns true.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(state.config().poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_state = "";
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        let snap = state.refresh_engine();
        state.evaluate_alerts(&snap);
        let now_state = snap.status.name();
        if now_state != last_state {
            tracing::info!(
                from = last_state,
                to = now_state,
                "stats reader state changed"
            );
            last_state = now_state;
        }
    }
}
