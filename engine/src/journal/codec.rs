//! The journal's binary record codec: little-endian, versioned, CRC-32 checked.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "OBJR"
//!      4     2  payload length n (u16)
//!      6     1  record kind
//!      7     1  record format version (1)
//!      8     8  sequence number (u64)
//!     16     8  timestamp, Unix ns (u64)
//!     24     n  payload (layout per kind, see FORMAT.md)
//!   24+n     4  CRC-32 (IEEE) of bytes 0 .. 24+n
//! ```

use super::record::{Anchors, OPERATOR_TEXT_MAX, OperatorAction, Record, RecordBody, ShortText};
use crate::instrument::{InstrumentId, SYMBOL_MAX_LEN, Symbol};
use crate::order::{Fill, Liquidity, NewOrder, OrderId, RejectReason, TimeInForce};
use crate::safety::{ReasonCode, SafetyState};
use crate::units::{Lots, Side, Ticks};

/// Magic at the start of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"OBJR";
/// Record format version written by this build.
pub const RECORD_VERSION: u8 = 1;
/// Header bytes before the payload.
pub const HEADER_BYTES: usize = 24;
/// Header plus trailing checksum.
pub const OVERHEAD_BYTES: usize = HEADER_BYTES + 4;
/// Largest payload any kind has (a sanity bound when scanning damaged files).
pub const MAX_PAYLOAD_BYTES: usize = 64;
/// Largest encoded record, bytes.
pub const MAX_RECORD_BYTES: usize = OVERHEAD_BYTES + MAX_PAYLOAD_BYTES;

/// Kind bytes (stable; never reuse a number).
mod kind {
    pub const SESSION_START: u8 = 1;
    pub const INSTRUMENT: u8 = 2;
    pub const ORDER_SENT: u8 = 3;
    pub const CANCEL_SENT: u8 = 4;
    pub const CANCEL_ALL_SENT: u8 = 5;
    pub const ACCEPTED: u8 = 6;
    pub const REJECTED: u8 = 7;
    pub const CANCELED: u8 = 8;
    pub const FILL: u8 = 9;
    pub const TRIP: u8 = 10;
    pub const OPERATOR: u8 = 11;
    pub const ANCHORS: u8 = 12;
}

/// Payload length of each kind in format version 1; `None` for an unknown kind.
const fn payload_len(kind: u8) -> Option<usize> {
    Some(match kind {
        kind::SESSION_START => 4,
        kind::INSTRUMENT => 3 + SYMBOL_MAX_LEN,
        kind::ORDER_SENT => 36,
        kind::CANCEL_SENT => 10,
        kind::CANCEL_ALL_SENT => 2,
        kind::ACCEPTED | kind::CANCELED => 16,
        kind::REJECTED => 17,
        kind::FILL => 60,
        kind::TRIP => 21,
        kind::OPERATOR => 6 + OPERATOR_TEXT_MAX,
        kind::ANCHORS => 32,
        _ => return None,
    })
}

/// Why bytes do not decode as a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before the record does.
    #[error("record incomplete: {needed} bytes needed, {available} present")]
    Incomplete {
        /// Bytes the record needs (the header's, if the length is not readable yet).
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The record does not start with the magic.
    #[error("bad record magic {found:02x?}")]
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A version this build cannot read.
    #[error("record format version {0} is not supported (this build reads {RECORD_VERSION})")]
    UnsupportedVersion(u8),
    /// A kind this build does not know.
    #[error("unknown record kind {0}")]
    UnknownKind(u8),
    /// The payload length does not match the kind.
    #[error("record kind {kind} has payload length {len}, expected {expected}")]
    BadLength {
        /// Kind byte.
        kind: u8,
        /// Length found.
        len: usize,
        /// Length of the kind.
        expected: usize,
    },
    /// The checksum does not match.
    #[error("checksum mismatch: stored {stored:08x}, computed {computed:08x}")]
    BadChecksum {
        /// Stored CRC.
        stored: u32,
        /// CRC of the bytes.
        computed: u32,
    },
    /// A field holds a value no writer produces.
    #[error("field {0} holds an invalid value")]
    BadValue(&'static str),
    /// A whole, checksummed record whose sequence number does not follow the previous one:
    /// records are missing or repeated.
    #[error("sequence number {found} where {expected} was expected")]
    OutOfSequence {
        /// The previous record's number + 1.
        expected: u64,
        /// The number found.
        found: u64,
    },
}

/// Little-endian writer over a fixed buffer.
struct Enc<'a> {
    buf: &'a mut [u8; MAX_RECORD_BYTES],
    pos: usize,
}

impl Enc<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
    fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    fn u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.put(&v.to_le_bytes());
    }
    fn i128(&mut self, v: i128) {
        self.put(&v.to_le_bytes());
    }
}

/// Little-endian reader over a payload whose length was checked against its kind.
struct Dec<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Dec<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let out = self
            .bytes
            .get(self.pos..self.pos + N)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(DecodeError::BadValue("payload"))?;
        self.pos += N;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn i128(&mut self) -> Result<i128, DecodeError> {
        Ok(i128::from_le_bytes(self.take()?))
    }
    fn side(&mut self) -> Result<Side, DecodeError> {
        match self.u8()? {
            0 => Ok(Side::Bid),
            1 => Ok(Side::Ask),
            _ => Err(DecodeError::BadValue("side")),
        }
    }
    fn reason(&mut self) -> Result<ReasonCode, DecodeError> {
        ReasonCode::from_code(self.u32()?).ok_or(DecodeError::BadValue("reason code"))
    }
}

/// Set in an order's time-in-force byte when it was sent reduce-only (journals written before
/// the flag existed never set it).
const REDUCE_ONLY_BIT: u8 = 0x80;

const fn tif_byte(tif: TimeInForce) -> u8 {
    match tif {
        TimeInForce::Gtc => 0,
        TimeInForce::Ioc => 1,
        TimeInForce::PostOnly => 2,
    }
}

const fn reject_byte(r: RejectReason) -> u8 {
    match r {
        RejectReason::WouldCross => 0,
        RejectReason::UnknownOrder => 1,
        RejectReason::NoMarket => 2,
        RejectReason::Venue => 3,
    }
}

const fn kind_of(body: &RecordBody) -> u8 {
    match body {
        RecordBody::SessionStart { .. } => kind::SESSION_START,
        RecordBody::Instrument { .. } => kind::INSTRUMENT,
        RecordBody::OrderSent(_) => kind::ORDER_SENT,
        RecordBody::CancelSent { .. } => kind::CANCEL_SENT,
        RecordBody::CancelAllSent { .. } => kind::CANCEL_ALL_SENT,
        RecordBody::Accepted { .. } => kind::ACCEPTED,
        RecordBody::Rejected { .. } => kind::REJECTED,
        RecordBody::Canceled { .. } => kind::CANCELED,
        RecordBody::Fill(_) => kind::FILL,
        RecordBody::Trip { .. } => kind::TRIP,
        RecordBody::Operator { .. } => kind::OPERATOR,
        RecordBody::Anchors(_) => kind::ANCHORS,
    }
}

/// Encodes `record` into `out`; returns the number of bytes used.
pub fn encode(record: &Record, out: &mut [u8; MAX_RECORD_BYTES]) -> usize {
    let kind = kind_of(&record.body);
    let mut e = Enc { buf: out, pos: 0 };
    e.put(&RECORD_MAGIC);
    e.u16(0); // length, patched below
    e.u8(kind);
    e.u8(RECORD_VERSION);
    e.u64(record.seq);
    e.u64(record.ts_ns);
    match record.body {
        RecordBody::SessionStart { pid } => e.u32(pid),
        RecordBody::Instrument { id, symbol } => {
            e.u16(id.0);
            let text = symbol.as_str().as_bytes();
            e.u8(text.len() as u8);
            let mut padded = [0u8; SYMBOL_MAX_LEN];
            padded[..text.len()].copy_from_slice(text);
            e.put(&padded);
        }
        RecordBody::OrderSent(o) => {
            e.u64(o.order_id.0);
            e.u16(o.instrument.0);
            e.u8(o.side as u8);
            e.u8(tif_byte(o.tif) | if o.reduce_only { REDUCE_ONLY_BIT } else { 0 });
            e.i64(o.price.0);
            e.i64(o.qty.0);
            e.u64(o.cause_ts_ns);
        }
        RecordBody::CancelSent {
            instrument,
            order_id,
        } => {
            e.u16(instrument.0);
            e.u64(order_id.0);
        }
        RecordBody::CancelAllSent { instrument } => e.u16(instrument.0),
        RecordBody::Accepted {
            order_id,
            venue_ts_ns,
        }
        | RecordBody::Canceled {
            order_id,
            venue_ts_ns,
        } => {
            e.u64(order_id.0);
            e.u64(venue_ts_ns);
        }
        RecordBody::Rejected {
            order_id,
            reason,
            venue_ts_ns,
        } => {
            e.u64(order_id.0);
            e.u8(reject_byte(reason));
            e.u64(venue_ts_ns);
        }
        RecordBody::Fill(f) => {
            e.u64(f.order_id.0);
            e.u16(f.instrument.0);
            e.u8(f.side as u8);
            e.u8(match f.liquidity {
                Liquidity::Maker => 0,
                Liquidity::Taker => 1,
            });
            e.i64(f.price.0);
            e.i64(f.qty.0);
            e.i64(f.leaves_qty.0);
            e.i128(f.fee);
            e.u64(f.ts_ns);
        }
        RecordBody::Trip {
            reason,
            state,
            value,
            limit,
        } => {
            e.u32(reason.code());
            e.u8(state.as_u8());
            e.i64(value);
            e.i64(limit);
        }
        RecordBody::Operator {
            action,
            reason,
            text,
        } => {
            e.u8(action as u8);
            e.u32(reason.code());
            let (len, bytes) = text.raw();
            e.u8(len);
            e.put(bytes);
        }
        RecordBody::Anchors(a) => {
            e.i64(a.equity_micros);
            e.i64(a.equity_peak_micros);
            e.u32(a.utc_day);
            e.i64(a.day_start_equity_micros);
            e.u32(a.consecutive_losses);
        }
    }
    let payload = e.pos - HEADER_BYTES;
    debug_assert_eq!(Some(payload), payload_len(kind));
    e.buf[4..6].copy_from_slice(&(payload as u16).to_le_bytes());
    let crc = crc32fast::hash(&e.buf[..e.pos]);
    e.u32(crc);
    e.pos
}

/// Decodes the record at the start of `bytes`; returns it and its encoded size.
pub fn decode(bytes: &[u8]) -> Result<(Record, usize), DecodeError> {
    let Some(header) = bytes.get(..HEADER_BYTES) else {
        if bytes.len() >= 4 && bytes[..4] != RECORD_MAGIC {
            return Err(DecodeError::BadMagic {
                found: [bytes[0], bytes[1], bytes[2], bytes[3]],
            });
        }
        return Err(DecodeError::Incomplete {
            needed: HEADER_BYTES,
            available: bytes.len(),
        });
    };
    let mut h = Dec {
        bytes: header,
        pos: 0,
    };
    let magic = h.take::<4>()?;
    if magic != RECORD_MAGIC {
        return Err(DecodeError::BadMagic { found: magic });
    }
    let len = usize::from(h.u16()?);
    let kind = h.u8()?;
    let version = h.u8()?;
    let seq = h.u64()?;
    let ts_ns = h.u64()?;
    if len > MAX_PAYLOAD_BYTES {
        return Err(DecodeError::BadLength {
            kind,
            len,
            expected: payload_len(kind).unwrap_or(0),
        });
    }
    let total = OVERHEAD_BYTES + len;
    let Some(whole) = bytes.get(..total) else {
        return Err(DecodeError::Incomplete {
            needed: total,
            available: bytes.len(),
        });
    };
    let stored = u32::from_le_bytes([
        whole[total - 4],
        whole[total - 3],
        whole[total - 2],
        whole[total - 1],
    ]);
    let computed = crc32fast::hash(&whole[..total - 4]);
    if stored != computed {
        return Err(DecodeError::BadChecksum { stored, computed });
    }
    if version != RECORD_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let expected = payload_len(kind).ok_or(DecodeError::UnknownKind(kind))?;
    if len != expected {
        return Err(DecodeError::BadLength {
            kind,
            len,
            expected,
        });
    }
    let mut d = Dec {
        bytes: &whole[HEADER_BYTES..total - 4],
        pos: 0,
    };
    let body = decode_body(kind, &mut d)?;
    Ok((Record { seq, ts_ns, body }, total))
}

fn decode_body(kind: u8, d: &mut Dec<'_>) -> Result<RecordBody, DecodeError> {
    Ok(match kind {
        kind::SESSION_START => RecordBody::SessionStart { pid: d.u32()? },
        kind::INSTRUMENT => {
            let id = InstrumentId(d.u16()?);
            let len = usize::from(d.u8()?);
            let padded = d.take::<SYMBOL_MAX_LEN>()?;
            let symbol = padded
                .get(..len)
                .and_then(|t| std::str::from_utf8(t).ok())
                .and_then(Symbol::new)
                .ok_or(DecodeError::BadValue("symbol"))?;
            RecordBody::Instrument { id, symbol }
        }
        kind::ORDER_SENT => {
            let order_id = OrderId(d.u64()?);
            let instrument = InstrumentId(d.u16()?);
            let side = d.side()?;
            let tif_flags = d.u8()?;
            RecordBody::OrderSent(NewOrder {
                order_id,
                instrument,
                side,
                tif: match tif_flags & !REDUCE_ONLY_BIT {
                    0 => TimeInForce::Gtc,
                    1 => TimeInForce::Ioc,
                    2 => TimeInForce::PostOnly,
                    _ => return Err(DecodeError::BadValue("time in force")),
                },
                price: Ticks(d.i64()?),
                qty: Lots(d.i64()?),
                cause_ts_ns: d.u64()?,
                reduce_only: tif_flags & REDUCE_ONLY_BIT != 0,
            })
        }
        kind::CANCEL_SENT => RecordBody::CancelSent {
            instrument: InstrumentId(d.u16()?),
            order_id: OrderId(d.u64()?),
        },
        kind::CANCEL_ALL_SENT => RecordBody::CancelAllSent {
            instrument: InstrumentId(d.u16()?),
        },
        kind::ACCEPTED => RecordBody::Accepted {
            order_id: OrderId(d.u64()?),
            venue_ts_ns: d.u64()?,
        },
        kind::CANCELED => RecordBody::Canceled {
            order_id: OrderId(d.u64()?),
            venue_ts_ns: d.u64()?,
        },
        kind::REJECTED => RecordBody::Rejected {
            order_id: OrderId(d.u64()?),
            reason: match d.u8()? {
                0 => RejectReason::WouldCross,
                1 => RejectReason::UnknownOrder,
                2 => RejectReason::NoMarket,
                3 => RejectReason::Venue,
                _ => return Err(DecodeError::BadValue("reject reason")),
            },
            venue_ts_ns: d.u64()?,
        },
        kind::FILL => RecordBody::Fill(Fill {
            order_id: OrderId(d.u64()?),
            instrument: InstrumentId(d.u16()?),
            side: d.side()?,
            liquidity: match d.u8()? {
                0 => Liquidity::Maker,
                1 => Liquidity::Taker,
                _ => return Err(DecodeError::BadValue("liquidity")),
            },
            price: Ticks(d.i64()?),
            qty: Lots(d.i64()?),
            leaves_qty: Lots(d.i64()?),
            fee: d.i128()?,
            ts_ns: d.u64()?,
        }),
        kind::TRIP => RecordBody::Trip {
            reason: d.reason()?,
            state: SafetyState::from_u8(d.u8()?).ok_or(DecodeError::BadValue("state"))?,
            value: d.i64()?,
            limit: d.i64()?,
        },
        kind::OPERATOR => {
            let action =
                OperatorAction::from_u8(d.u8()?).ok_or(DecodeError::BadValue("operator action"))?;
            let reason = d.reason()?;
            let len = d.u8()?;
            let bytes = d.take::<OPERATOR_TEXT_MAX>()?;
            let text = ShortText::from_raw(len, bytes).ok_or(DecodeError::BadValue("text"))?;
            RecordBody::Operator {
                action,
                reason,
                text,
            }
        }
        kind::ANCHORS => RecordBody::Anchors(Anchors {
            equity_micros: d.i64()?,
            equity_peak_micros: d.i64()?,
            utc_day: d.u32()?,
            day_start_equity_micros: d.i64()?,
            consecutive_losses: d.u32()?,
        }),
        other => return Err(DecodeError::UnknownKind(other)),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One record of every kind.
    pub(crate) fn every_kind() -> Vec<RecordBody> {
        let order = NewOrder {
            order_id: OrderId(7),
            instrument: InstrumentId(1),
            side: Side::Ask,
            price: Ticks(-5),
            qty: Lots(3),
            tif: TimeInForce::PostOnly,
            cause_ts_ns: 99,
            reduce_only: false,
        };
        vec![
            RecordBody::SessionStart { pid: 4242 },
            RecordBody::Instrument {
                id: InstrumentId(1),
                symbol: Symbol::new("BTCUSD_PERP").expect("valid symbol"),
            },
            RecordBody::OrderSent(order),
            RecordBody::OrderSent(NewOrder {
                order_id: OrderId(9),
                tif: TimeInForce::Ioc,
                reduce_only: true,
                ..order
            }),
            RecordBody::CancelSent {
                instrument: InstrumentId(1),
                order_id: OrderId(7),
            },
            RecordBody::CancelAllSent {
                instrument: InstrumentId(2),
            },
            RecordBody::Accepted {
                order_id: OrderId(7),
                venue_ts_ns: 1,
            },
            RecordBody::Rejected {
                order_id: OrderId(8),
                reason: RejectReason::NoMarket,
                venue_ts_ns: 2,
            },
            RecordBody::Canceled {
                order_id: OrderId(9),
                venue_ts_ns: 3,
            },
            RecordBody::Fill(Fill {
                order_id: OrderId(7),
                instrument: InstrumentId(1),
                side: Side::Bid,
                price: Ticks(268_380),
                qty: Lots(2),
                leaves_qty: Lots(1),
                fee: -(1i128 << 70),
                liquidity: Liquidity::Taker,
                ts_ns: u64::MAX,
            }),
            RecordBody::Trip {
                reason: ReasonCode::DailyLoss,
                state: SafetyState::Halted,
                value: -200,
                limit: 100,
            },
            RecordBody::Operator {
                action: OperatorAction::Reset,
                reason: ReasonCode::None,
                text: ShortText::new("checked positions at the venue — all flat ✓"),
            },
            RecordBody::Anchors(Anchors {
                equity_micros: 10_000_000_000,
                equity_peak_micros: 10_500_000_000,
                utc_day: 20_415,
                day_start_equity_micros: 9_000_000_000,
                consecutive_losses: 4,
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        let mut buf = [0u8; MAX_RECORD_BYTES];
        for (i, body) in every_kind().into_iter().enumerate() {
            let rec = Record {
                seq: i as u64 + 1,
                ts_ns: 1_700_000_000_000_000_000 + i as u64,
                body,
            };
            let n = encode(&rec, &mut buf);
            assert_eq!(decode(&buf[..n]), Ok((rec, n)), "{body:?}");
            // Every strict prefix is incomplete or (for < 4 bytes) incomplete, never a record.
            for cut in 0..n {
                assert!(decode(&buf[..cut]).is_err());
            }
            // Every single-byte flip is caught.
            for at in 0..n {
                let mut bad = buf;
                bad[at] ^= 0x40;
                assert!(decode(&bad[..n]).is_err(), "flip at {at} of {body:?}");
            }
        }
    }

    #[test]
    fn short_text_cuts_at_a_char_boundary() {
        let t = ShortText::new(&"é".repeat(40));
        assert_eq!(t.as_str().len(), 48);
        assert_eq!(ShortText::new("ok").as_str(), "ok");
    }
}
