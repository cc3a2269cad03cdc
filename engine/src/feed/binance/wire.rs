//! Binance market-data wire format → venue-neutral events, parsed with simd-json in place.
//!
//! Handles combined-stream envelopes (`{"stream":..,"data":{..}}`) and bare payloads for
//! `depthUpdate`, `bookTicker` (spot's has no `e`), `trade`, `aggTrade`, and the REST depth
//! snapshot. Unknown fields are ignored; unknown event types are reported as
//! [`Parsed::Unknown`] so the caller can count them. The simd-json buffers, the tape and the
//! level scratch vectors are reused across frames, so a parse allocates only while they grow
//! during warm-up.

use super::tape::{array_len, as_bool, as_i64, as_str, as_u64, for_each_member, skip};
use crate::decimal::DecimalError;
use crate::feed::event::{BookTicker, DepthDiff, DepthSnapshot, MarketEvent, Trade};
use crate::instrument::{InstrumentId, InstrumentSpec, Instruments};
use crate::units::{Level, Side};
use simd_json::tape::{Node, Tape};
use simd_json::{Buffers, fill_tape};
use std::fmt;

/// Why a frame could not be turned into an event. Counted and skipped by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not valid JSON (truncated, invalid UTF-8, bad syntax).
    Json,
    /// The frame is valid JSON but not an object.
    NotObject,
    /// A required field is absent.
    Missing(&'static str),
    /// A field has the wrong JSON type or an out-of-range value.
    WrongType(&'static str),
    /// A price or quantity is not a decimal on the instrument's grid.
    Decimal(&'static str, DecimalError),
    /// A price that is not positive or a quantity that is negative.
    OutOfRange(&'static str),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json => f.write_str("invalid JSON"),
            ParseError::NotObject => f.write_str("frame is not a JSON object"),
            ParseError::Missing(field) => write!(f, "missing field `{field}`"),
            ParseError::WrongType(field) => write!(f, "field `{field}` has the wrong type"),
            ParseError::Decimal(field, e) => write!(f, "field `{field}`: {e}"),
            ParseError::OutOfRange(field) => write!(f, "field `{field}` is out of range"),
        }
    }
}

impl std::error::Error for ParseError {}

/// What one frame turned out to be.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A market event for a configured instrument.
    Event(MarketEvent<'a>),
    /// A well-formed message of a type we do not handle (kline, markPrice, …).
    Unknown,
    /// A known message for a symbol that is not configured.
    UnknownSymbol,
    /// A subscription answer such as `{"result":null,"id":1}`.
    Control,
}

/// Which payload a frame carries, decided from `e` or, failing that, the field set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Depth,
    Ticker,
    Trade,
    AggTrade,
    Snapshot,
    Control,
    Unknown,
}

/// Node indices of the payload fields we read (0 = absent; index 0 is always the root).
#[derive(Default)]
struct Fields {
    e: usize,
    s: usize,
    big_e: usize,
    big_t: usize,
    big_u: usize,
    u: usize,
    pu: usize,
    b: usize,
    a: usize,
    big_b: usize,
    big_a: usize,
    p: usize,
    q: usize,
    t: usize,
    m: usize,
    last_update_id: usize,
    bids: usize,
    asks: usize,
    result: usize,
}

/// Reusable Binance frame parser. One per feed; not shared between threads.
pub struct BinanceParser {
    buffers: Buffers,
    tape: Option<Tape<'static>>,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

impl fmt::Debug for BinanceParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinanceParser").finish_non_exhaustive()
    }
}

impl Default for BinanceParser {
    fn default() -> Self {
        BinanceParser::new()
    }
}

impl BinanceParser {
    /// A parser with buffers sized for typical frames; they grow on demand during warm-up.
    pub fn new() -> BinanceParser {
        BinanceParser {
            buffers: Buffers::new(64 * 1024),
            tape: Some(Tape::null().reset()),
            bids: Vec::with_capacity(1024),
            asks: Vec::with_capacity(1024),
        }
    }

    /// Parses one frame in place (simd-json unescapes strings inside `frame`).
    ///
    /// `snapshot_for` names the instrument of a bare REST snapshot, which carries no symbol.
    pub fn parse<'s>(
        &'s mut self,
        frame: &mut [u8],
        instruments: &Instruments,
        snapshot_for: Option<InstrumentId>,
    ) -> Result<Parsed<'s>, ParseError> {
        let tape = self.tape.take().unwrap_or_else(|| Tape::null().reset());
        let mut tape_now: Tape<'_> = tape.reset();
        let outcome = match fill_tape(frame, &mut self.buffers, &mut tape_now) {
            Ok(()) => interpret(
                &tape_now.0,
                instruments,
                snapshot_for,
                &mut self.bids,
                &mut self.asks,
            ),
            Err(_) => Err(ParseError::Json),
        };
        self.tape = Some(tape_now.reset());
        // Events borrow only the level scratch vectors, which live in `self`.
        outcome.map(|o| o.into_parsed(&self.bids, &self.asks))
    }
}

/// An event whose level lists are still in the scratch vectors.
enum Outcome {
    Depth(DepthDiff<'static>),
    Snapshot(DepthSnapshot<'static>),
    Ticker(BookTicker),
    Trade(Trade),
    Unknown,
    UnknownSymbol,
    Control,
}

impl Outcome {
    fn into_parsed<'s>(self, bids: &'s [Level], asks: &'s [Level]) -> Parsed<'s> {
        match self {
            Outcome::Depth(d) => Parsed::Event(MarketEvent::Depth(DepthDiff { bids, asks, ..d })),
            Outcome::Snapshot(s) => {
                Parsed::Event(MarketEvent::Snapshot(DepthSnapshot { bids, asks, ..s }))
            }
            Outcome::Ticker(t) => Parsed::Event(MarketEvent::Ticker(t)),
            Outcome::Trade(t) => Parsed::Event(MarketEvent::Trade(t)),
            Outcome::Unknown => Parsed::Unknown,
            Outcome::UnknownSymbol => Parsed::UnknownSymbol,
            Outcome::Control => Parsed::Control,
        }
    }
}

fn interpret(
    nodes: &[Node<'_>],
    instruments: &Instruments,
    snapshot_for: Option<InstrumentId>,
    bids: &mut Vec<Level>,
    asks: &mut Vec<Level>,
) -> Result<Outcome, ParseError> {
    if !matches!(nodes.first(), Some(Node::Object { .. })) {
        return Err(ParseError::NotObject);
    }
    // Envelope: {"stream": "...", "data": {...}}; otherwise the root is the payload.
    let (mut stream, mut data) = (None, 0usize);
    for_each_member(nodes, 0, |k, v| match k {
        "stream" => stream = as_str(nodes, v),
        "data" => data = v,
        _ => {}
    });
    let payload = if data != 0 { data } else { 0 };
    if !matches!(nodes.get(payload), Some(Node::Object { .. })) {
        return Err(ParseError::NotObject);
    }
    let mut f = Fields::default();
    for_each_member(nodes, payload, |k, v| {
        let slot = match k {
            "e" => &mut f.e,
            "s" => &mut f.s,
            "E" => &mut f.big_e,
            "T" => &mut f.big_t,
            "U" => &mut f.big_u,
            "u" => &mut f.u,
            "pu" => &mut f.pu,
            "b" => &mut f.b,
            "a" => &mut f.a,
            "B" => &mut f.big_b,
            "A" => &mut f.big_a,
            "p" => &mut f.p,
            "q" => &mut f.q,
            "t" => &mut f.t,
            "m" => &mut f.m,
            "lastUpdateId" => &mut f.last_update_id,
            "bids" => &mut f.bids,
            "asks" => &mut f.asks,
            "result" => &mut f.result,
            _ => return,
        };
        *slot = v;
    });

    let kind = match f.e {
        0 => {
            if f.last_update_id != 0 {
                Kind::Snapshot
            } else if f.u != 0 && f.big_b != 0 && f.big_a != 0 {
                Kind::Ticker
            } else if f.result != 0 {
                Kind::Control
            } else {
                Kind::Unknown
            }
        }
        e => match as_str(nodes, e).ok_or(ParseError::WrongType("e"))? {
            "depthUpdate" => Kind::Depth,
            "bookTicker" => Kind::Ticker,
            "trade" => Kind::Trade,
            "aggTrade" => Kind::AggTrade,
            _ => Kind::Unknown,
        },
    };
    match kind {
        Kind::Unknown => return Ok(Outcome::Unknown),
        Kind::Control => return Ok(Outcome::Control),
        Kind::Snapshot => {
            let named = snapshot_for.filter(|id| id.index() < instruments.len());
            let Some(instrument) = named.or_else(|| symbol_id(nodes, f.s, instruments)) else {
                return Ok(Outcome::UnknownSymbol);
            };
            let spec = instruments.get(instrument);
            let last_update_id = req_u64(nodes, f.last_update_id, "lastUpdateId")?;
            read_levels(nodes, f.bids, spec, bids, "bids")?;
            read_levels(nodes, f.asks, spec, asks, "asks")?;
            return Ok(Outcome::Snapshot(DepthSnapshot {
                instrument,
                last_update_id,
                bids: &[],
                asks: &[],
            }));
        }
        _ => {}
    }
    // Every remaining kind names its symbol in `s`, or at least in the stream name.
    let symbol: &str = match f.s {
        0 => {
            let stream = stream.ok_or(ParseError::Missing("s"))?;
            stream.split('@').next().unwrap_or(stream)
        }
        s => as_str(nodes, s).ok_or(ParseError::WrongType("s"))?,
    };
    let Some(instrument) = instruments.lookup(symbol.as_bytes()) else {
        return Ok(Outcome::UnknownSymbol);
    };
    let spec = instruments.get(instrument);
    match kind {
        Kind::Depth => {
            let first_update_id = req_u64(nodes, f.big_u, "U")?;
            let final_update_id = req_u64(nodes, f.u, "u")?;
            let prev_final_update_id = match f.pu {
                0 => None,
                pu => Some(as_u64(nodes, pu).ok_or(ParseError::WrongType("pu"))?),
            };
            if first_update_id > final_update_id {
                return Err(ParseError::WrongType("U"));
            }
            let event_time_ms = opt_i64(nodes, f.big_e, "E")?.unwrap_or(0);
            read_levels(nodes, f.b, spec, bids, "b")?;
            read_levels(nodes, f.a, spec, asks, "a")?;
            Ok(Outcome::Depth(DepthDiff {
                instrument,
                event_time_ms,
                first_update_id,
                final_update_id,
                prev_final_update_id,
                bids: &[],
                asks: &[],
            }))
        }
        Kind::Ticker => Ok(Outcome::Ticker(BookTicker {
            instrument,
            update_id: req_u64(nodes, f.u, "u")?,
            bid: Level {
                price: spec
                    .ticks(req_str(nodes, f.b, "b")?)
                    .map_err(|e| ParseError::Decimal("b", e))?,
                qty: spec
                    .lots(req_str(nodes, f.big_b, "B")?)
                    .map_err(|e| ParseError::Decimal("B", e))?,
            },
            ask: Level {
                price: spec
                    .ticks(req_str(nodes, f.a, "a")?)
                    .map_err(|e| ParseError::Decimal("a", e))?,
                qty: spec
                    .lots(req_str(nodes, f.big_a, "A")?)
                    .map_err(|e| ParseError::Decimal("A", e))?,
            },
            event_time_ms: opt_i64(nodes, f.big_e, "E")?,
        })),
        Kind::Trade | Kind::AggTrade => {
            // aggTrade's id is `a`, which names the ask side in other payloads.
            let id_field = if kind == Kind::Trade { f.t } else { f.a };
            let buyer_is_maker = as_bool(nodes, f.m).ok_or(if f.m == 0 {
                ParseError::Missing("m")
            } else {
                ParseError::WrongType("m")
            })?;
            Ok(Outcome::Trade(Trade {
                instrument,
                trade_id: req_u64(nodes, id_field, if kind == Kind::Trade { "t" } else { "a" })?,
                trade_time_ms: opt_i64(nodes, f.big_t, "T")?
                    .or(opt_i64(nodes, f.big_e, "E")?)
                    .ok_or(ParseError::Missing("T"))?,
                price: spec
                    .ticks(req_str(nodes, f.p, "p")?)
                    .map_err(|e| ParseError::Decimal("p", e))?,
                qty: spec
                    .lots(req_str(nodes, f.q, "q")?)
                    .map_err(|e| ParseError::Decimal("q", e))?,
                aggressor: if buyer_is_maker { Side::Ask } else { Side::Bid },
            }))
        }
        Kind::Snapshot | Kind::Unknown | Kind::Control => Ok(Outcome::Unknown),
    }
}

fn symbol_id(nodes: &[Node<'_>], at: usize, instruments: &Instruments) -> Option<InstrumentId> {
    if at == 0 {
        return None;
    }
    as_str(nodes, at).and_then(|s| instruments.lookup(s.as_bytes()))
}

#[inline]
fn req_u64(nodes: &[Node<'_>], at: usize, field: &'static str) -> Result<u64, ParseError> {
    if at == 0 {
        return Err(ParseError::Missing(field));
    }
    as_u64(nodes, at).ok_or(ParseError::WrongType(field))
}

#[inline]
fn opt_i64(nodes: &[Node<'_>], at: usize, field: &'static str) -> Result<Option<i64>, ParseError> {
    if at == 0 {
        return Ok(None);
    }
    as_i64(nodes, at)
        .map(Some)
        .ok_or(ParseError::WrongType(field))
}

#[inline]
fn req_str<'i>(nodes: &[Node<'i>], at: usize, field: &'static str) -> Result<&'i [u8], ParseError> {
    if at == 0 {
        return Err(ParseError::Missing(field));
    }
    as_str(nodes, at)
        .map(str::as_bytes)
        .ok_or(ParseError::WrongType(field))
}

/// Reads `[["price","qty"], ...]` at `at` into `out` (cleared first).
fn read_levels(
    nodes: &[Node<'_>],
    at: usize,
    spec: &InstrumentSpec,
    out: &mut Vec<Level>,
    field: &'static str,
) -> Result<(), ParseError> {
    out.clear();
    if at == 0 {
        return Err(ParseError::Missing(field));
    }
    let len = array_len(nodes, at).ok_or(ParseError::WrongType(field))?;
    let mut i = at + 1;
    for _ in 0..len {
        if array_len(nodes, i).is_none_or(|n| n < 2) {
            return Err(ParseError::WrongType(field));
        }
        let price = as_str(nodes, i + 1).ok_or(ParseError::WrongType(field))?;
        let qty = as_str(nodes, i + 2).ok_or(ParseError::WrongType(field))?;
        let level = Level {
            price: spec
                .ticks(price.as_bytes())
                .map_err(|e| ParseError::Decimal(field, e))?,
            qty: spec
                .lots(qty.as_bytes())
                .map_err(|e| ParseError::Decimal(field, e))?,
        };
        if level.price.0 <= 0 || level.qty.0 < 0 {
            return Err(ParseError::OutOfRange(field));
        }
        out.push(level);
        i = skip(nodes, i);
    }
    Ok(())
}
