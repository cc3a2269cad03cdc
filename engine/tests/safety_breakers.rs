//! Each breaker fires on a scripted scenario at its threshold and not just below it; the
//! state never moves backwards; a reset is refused while a kill file is present.

use obi_engine::instrument::InstrumentId;
use obi_engine::journal::{Anchors, RecordBody};
use obi_engine::safety::{
    BreakerConfig, Breakers, KillConfig, KillWatch, ReasonCode, ResetRefused, SafetyLatch,
    SafetyState, Trip, action,
};

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
/// 2026-11-23 00:00 UTC, ns.
const DAY0: u64 = 20_415 * 86_400 * S;
const T0: u64 = DAY0 + 9 * 3_600 * S;
const I0: InstrumentId = InstrumentId(0);
const MICROS: i64 = 1_000_000;

fn breakers() -> Breakers {
    Breakers::new(&BreakerConfig::default(), 4)
}

fn tripped(b: &mut Breakers, now: u64) -> Option<(ReasonCode, SafetyState)> {
    b.evaluate(now).map(|t: Trip| (t.reason, t.state))
}

#[test]
fn daily_loss_trips_at_two_percent_of_the_days_first_equity() {
    let mut b = breakers();
    b.on_equity(10_000 * MICROS, T0);
    b.on_equity(10_000 * MICROS - 199_999_999, T0 + S);
    assert_eq!(tripped(&mut b, T0 + S), None);
    b.on_equity(10_000 * MICROS - 200 * MICROS, T0 + 2 * S);
    let t = b.evaluate(T0 + 2 * S).expect("daily loss trips");
    assert_eq!(
        (t.reason, t.state),
        (ReasonCode::DailyLoss, SafetyState::Halted)
    );
    assert_eq!((t.value, t.limit), (200 * MICROS, 200 * MICROS));
    assert!(matches!(
        t.record(),
        RecordBody::Trip {
            reason: ReasonCode::DailyLoss,
            ..
        }
    ));
}

#[test]
fn a_new_utc_day_re_anchors_the_daily_loss() {
    let mut b = breakers();
    b.on_equity(10_000 * MICROS, T0);
    b.on_equity(9_850 * MICROS, T0 + S); // -1.5 %
    assert_eq!(tripped(&mut b, T0 + S), None);
    let next_day = DAY0 + 86_400 * S + S;
    b.on_equity(9_850 * MICROS, next_day);
    b.on_equity(9_700 * MICROS, next_day + S); // -1.52 % of 9850: below 2 %
    assert_eq!(tripped(&mut b, next_day + S), None);
    assert_eq!(b.anchors().day_start_equity_micros, 9_850 * MICROS);
}

#[test]
fn drawdown_trips_at_five_percent_from_the_peak() {
    let mut b = breakers();
    b.on_equity(10_000 * MICROS, T0);
    b.on_equity(12_000 * MICROS, T0 + S);
    b.on_equity(11_400 * MICROS + 1, T0 + 2 * S);
    assert_eq!(tripped(&mut b, T0 + 2 * S), None);
    b.on_equity(11_400 * MICROS, T0 + 3 * S);
    assert_eq!(
        tripped(&mut b, T0 + 3 * S),
        Some((ReasonCode::Drawdown, SafetyState::Halted))
    );
    assert_eq!(b.anchors().equity_peak_micros, 12_000 * MICROS);
}

#[test]
fn the_first_equity_replaces_the_configured_capital() {
    let mut b = breakers();
    // The venue says 9000, not the configured 10000: no drawdown, no daily loss from 10000.
    b.on_equity(9_000 * MICROS, T0);
    assert_eq!(tripped(&mut b, T0), None);
    assert_eq!(b.anchors().equity_peak_micros, 9_000 * MICROS);
}

#[test]
fn five_losing_round_trips_in_a_row_trip_and_a_win_resets_the_streak() {
    let mut b = breakers();
    for _ in 0..4 {
        b.on_round_trip(-1);
    }
    b.on_round_trip(5);
    for _ in 0..4 {
        b.on_round_trip(-10);
    }
    assert_eq!(b.consecutive_losses(), 4);
    assert_eq!(tripped(&mut b, T0), None);
    b.on_round_trip(-1);
    assert_eq!(
        tripped(&mut b, T0),
        Some((ReasonCode::ConsecutiveLosses, SafetyState::Halted))
    );
}

#[test]
fn a_ten_percent_move_within_a_minute_trips_but_not_a_slower_one() {
    let mut b = breakers();
    b.on_mid(I0, 100_000, T0);
    b.on_mid(I0, 109_999, T0 + 30 * S);
    assert_eq!(tripped(&mut b, T0 + 30 * S), None);
    b.on_mid(I0, 110_000, T0 + 59 * S);
    let t = b.evaluate(T0 + 59 * S).expect("price move");
    assert_eq!(
        (t.reason, t.state, t.value, t.limit),
        (ReasonCode::PriceMove, SafetyState::Halted, 1_000, 1_000)
    );

    // Down moves count from the window's high.
    let mut b = breakers();
    b.on_mid(I0, 100_000, T0);
    b.on_mid(I0, 90_001, T0 + 10 * S);
    assert_eq!(tripped(&mut b, T0 + 10 * S), None);
    b.on_mid(I0, 90_000, T0 + 11 * S);
    assert_eq!(
        tripped(&mut b, T0 + 11 * S),
        Some((ReasonCode::PriceMove, SafetyState::Halted))
    );

    // The same 10 % over more than the window does not trip, in steps of < 10 %.
    let mut b = breakers();
    b.on_mid(I0, 100_000, T0);
    b.on_mid(I0, 105_000, T0 + 40 * S);
    b.on_mid(I0, 110_000, T0 + 62 * S);
    assert_eq!(tripped(&mut b, T0 + 62 * S), None);
    // Other instruments are separate.
    b.on_mid(InstrumentId(1), 50_000, T0 + 63 * S);
    assert_eq!(tripped(&mut b, T0 + 63 * S), None);
}

#[test]
fn more_than_three_open_positions_reduce() {
    let mut b = breakers();
    for i in 0..3u16 {
        b.on_fill(InstrumentId(i), if i == 1 { -5 } else { 2 });
    }
    assert_eq!(b.open_positions(), 3);
    assert_eq!(tripped(&mut b, T0), None);
    // Closing one and opening another stays at three.
    b.on_fill(InstrumentId(1), 0);
    b.on_fill(InstrumentId(3), 1);
    assert_eq!(tripped(&mut b, T0), None);
    b.on_fill(InstrumentId(1), 4);
    let t = b.evaluate(T0).expect("fourth position");
    assert_eq!(
        (t.reason, t.state, t.value, t.limit),
        (ReasonCode::MaxOpenPositions, SafetyState::Reducing, 4, 3)
    );
    assert_eq!(action(ReasonCode::MaxOpenPositions), SafetyState::Reducing);
}

#[test]
fn a_book_invalid_or_silent_beyond_the_limit_halts_only_after_it_was_valid() {
    let mut b = breakers();
    // Instrument 1 never becomes valid (still starting): never stale.
    b.on_book(InstrumentId(1), false, T0);
    b.on_book(I0, true, T0);
    b.on_book(I0, false, T0 + 100 * MS);
    assert_eq!(tripped(&mut b, T0 + 5_000 * MS), None);
    let t = b.evaluate(T0 + 5_001 * MS).expect("stale");
    assert_eq!(
        (t.reason, t.state, t.value, t.limit),
        (ReasonCode::BookStale, SafetyState::Halted, 5_001, 5_000)
    );
}

#[test]
fn five_reconnects_within_five_minutes_halt() {
    let mut b = breakers();
    // Spread out: never five within 300 s.
    for i in 0..10u64 {
        b.on_reconnect(T0 + i * 100 * S);
        assert_eq!(tripped(&mut b, T0 + i * 100 * S), None, "reconnect {i}");
    }
    let t1 = T0 + 10_000 * S;
    for i in 0..4u64 {
        b.on_reconnect(t1 + i * 60 * S);
    }
    assert_eq!(tripped(&mut b, t1 + 240 * S), None);
    b.on_reconnect(t1 + 299 * S);
    assert_eq!(
        tripped(&mut b, t1 + 299 * S),
        Some((ReasonCode::ReconnectStorm, SafetyState::Halted))
    );
}

#[test]
fn intent_ring_full_events_halt_at_the_configured_count() {
    let cfg = BreakerConfig {
        max_intent_ring_full: 3,
        ..BreakerConfig::default()
    };
    let mut b = Breakers::new(&cfg, 1);
    b.on_intent_ring_full(T0);
    b.on_intent_ring_full(T0 + S);
    assert_eq!(tripped(&mut b, T0 + S), None);
    b.on_intent_ring_full(T0 + 2 * S);
    assert_eq!(
        tripped(&mut b, T0 + 2 * S),
        Some((ReasonCode::IntentRingFull, SafetyState::Halted))
    );
    // The default trips on the first one.
    let mut b = breakers();
    b.on_intent_ring_full(T0);
    assert_eq!(
        tripped(&mut b, T0),
        Some((ReasonCode::IntentRingFull, SafetyState::Halted))
    );
}

#[test]
fn a_reject_rate_of_half_the_orders_halts_once_enough_were_sent() {
    let mut b = breakers();
    // Few orders, all rejected: not enough to judge.
    for i in 0..9 {
        b.on_order_sent(T0 + i * MS);
        b.on_reject(T0 + i * MS);
    }
    assert_eq!(tripped(&mut b, T0 + S), None);

    let mut b = breakers();
    for i in 0..10 {
        b.on_order_sent(T0 + i * MS);
    }
    for i in 0..4 {
        b.on_reject(T0 + 20 * MS + i * MS);
    }
    assert_eq!(tripped(&mut b, T0 + S), None); // 40 %
    b.on_reject(T0 + 2 * S);
    let t = b.evaluate(T0 + 2 * S).expect("50 % rejected");
    assert_eq!(
        (t.reason, t.state, t.value, t.limit),
        (ReasonCode::RejectRate, SafetyState::Halted, 50, 50)
    );
}

#[test]
fn rate_limit_headroom_below_ten_percent_reduces() {
    let mut b = breakers();
    b.on_rate_limit(89, 100);
    b.on_rate_limit(90, 100);
    assert_eq!(tripped(&mut b, T0), None);
    b.on_rate_limit(0, 0);
    assert_eq!(tripped(&mut b, T0), None);
    b.on_rate_limit(91, 100);
    assert_eq!(
        tripped(&mut b, T0),
        Some((ReasonCode::RateLimitHeadroom, SafetyState::Reducing))
    );
}

#[test]
fn journal_unavailable_and_kill_inputs_halt() {
    let mut b = breakers();
    b.on_journal_unavailable();
    assert_eq!(
        tripped(&mut b, T0),
        Some((ReasonCode::JournalUnavailable, SafetyState::Halted))
    );
    let mut b = breakers();
    let t = b.on_kill(ReasonCode::KillFile, T0).expect("halts at once");
    assert_eq!(
        (t.reason, t.state),
        (ReasonCode::KillFile, SafetyState::Halted)
    );
    assert_eq!(
        b.on_kill(ReasonCode::Sigterm, T0 + 1),
        None,
        "already halted"
    );
    assert_eq!(b.latch().reason(), ReasonCode::KillFile);
}

#[test]
fn the_state_never_moves_backwards() {
    let mut b = breakers();
    b.on_rate_limit(99, 100);
    assert_eq!(
        tripped(&mut b, T0),
        Some((ReasonCode::RateLimitHeadroom, SafetyState::Reducing))
    );
    // Another reduce-level condition changes nothing.
    for i in 0..4u16 {
        b.on_fill(InstrumentId(i), 1);
    }
    assert_eq!(tripped(&mut b, T0 + 1), None);
    assert_eq!(b.state(), SafetyState::Reducing);
    // A halt-level one moves on; nothing brings it back.
    b.on_round_trip(-1);
    for _ in 0..5 {
        b.on_round_trip(-1);
    }
    assert_eq!(
        tripped(&mut b, T0 + 2),
        Some((ReasonCode::ConsecutiveLosses, SafetyState::Halted))
    );
    b.on_rate_limit(99, 100);
    b.on_equity(100 * MICROS, T0 + 3);
    b.on_round_trip(10);
    for now in [T0 + 3, T0 + 4, T0 + 86_400 * S] {
        assert_eq!(b.evaluate(now), None);
        assert_eq!(b.state(), SafetyState::Halted);
    }
    // A pseudo-random event storm: the state sequence is non-decreasing.
    let mut b = breakers();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut last = SafetyState::Running;
    for step in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let now = T0 + step * 10 * MS;
        match x % 9 {
            0 => b.on_equity(10_000 * MICROS - (x % 300) as i64 * MICROS, now),
            1 => b.on_round_trip((x % 3) as i128 - 1),
            2 => b.on_mid(
                InstrumentId((x % 4) as u16),
                100_000 + (x % 12_000) as i64,
                now,
            ),
            3 => b.on_fill(InstrumentId((x % 4) as u16), (x % 3) as i64 - 1),
            4 => b.on_book(InstrumentId((x % 4) as u16), !x.is_multiple_of(5), now),
            5 => b.on_order_sent(now),
            6 => b.on_reject(now),
            7 => b.on_rate_limit(x % 101, 100),
            _ => {}
        }
        b.evaluate(now);
        assert!(b.state() >= last, "moved back at step {step}");
        last = b.state();
    }
    assert_eq!(last, SafetyState::Halted);
}

#[test]
fn a_reset_is_refused_while_a_kill_file_is_present() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kill = dir.path().join("KILL");
    std::fs::write(&kill, b"").expect("create kill file");
    let mut watch =
        KillWatch::new(std::slice::from_ref(&kill), &KillConfig::default()).expect("watch");
    let mut b = breakers();
    let input = watch.poll(0).expect("present at start");
    b.on_kill(input.reason, T0).expect("halts");
    assert_eq!(
        b.reset("all clear", watch.is_present(), T0 + S),
        Err(ResetRefused::KillInputPresent)
    );
    assert_eq!(b.state(), SafetyState::Halted);
    std::fs::remove_file(&kill).expect("remove");
    assert!(!watch.recheck());
    assert_eq!(
        b.reset("", watch.is_present(), T0 + S),
        Err(ResetRefused::NoReason)
    );
    assert_eq!(
        b.reset(
            "checked the venue: flat, no orders",
            watch.is_present(),
            T0 + S
        ),
        Ok(SafetyState::Halted)
    );
    assert_eq!(b.state(), SafetyState::Running);
    assert_eq!(b.evaluate(T0 + 2 * S), None);
}

#[test]
fn a_reset_rebases_the_peak_but_keeps_the_daily_anchor() {
    let mut b = breakers();
    b.on_equity(10_000 * MICROS, T0);
    b.on_equity(10_600 * MICROS, T0 + S);
    b.on_equity(10_000 * MICROS, T0 + 2 * S); // -5.66 % from the peak
    assert_eq!(
        tripped(&mut b, T0 + 2 * S),
        Some((ReasonCode::Drawdown, SafetyState::Halted))
    );
    b.reset("accepted", false, T0 + 3 * S).expect("reset");
    b.on_equity(10_000 * MICROS, T0 + 4 * S);
    assert_eq!(tripped(&mut b, T0 + 4 * S), None);
    b.on_equity(9_800 * MICROS, T0 + 5 * S); // -2 % of the day's start
    assert_eq!(
        tripped(&mut b, T0 + 5 * S),
        Some((ReasonCode::DailyLoss, SafetyState::Halted))
    );
}

#[test]
fn restored_latch_and_anchors_continue() {
    let mut b = breakers();
    b.restore(
        SafetyLatch::restored(SafetyState::Halted, ReasonCode::PriceMove, 5),
        Some(&Anchors {
            equity_micros: 9_900 * MICROS,
            equity_peak_micros: 10_400 * MICROS,
            utc_day: 20_415,
            day_start_equity_micros: 10_000 * MICROS,
            consecutive_losses: 4,
        }),
    );
    assert_eq!(b.state(), SafetyState::Halted);
    assert_eq!(b.consecutive_losses(), 4);
    b.reset("reviewed", false, T0).expect("reset");
    assert_eq!(b.consecutive_losses(), 0);
    // Same UTC day: the restored day anchor still counts.
    b.on_equity(9_800 * MICROS, T0 + S);
    assert_eq!(
        tripped(&mut b, T0 + S),
        Some((ReasonCode::DailyLoss, SafetyState::Halted))
    );
}
