//! A tiny cursor over a simd-json tape: field lookup and typed reads without building values.

use simd_json::StaticNode;
use simd_json::tape::Node;

/// Index of the node after the value at `i` (skips nested objects and arrays whole).
#[inline]
pub fn skip(nodes: &[Node<'_>], i: usize) -> usize {
    match nodes.get(i) {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => i + 1 + count,
        _ => i + 1,
    }
}

/// Calls `f(key, value_index)` for each member of the object at `obj`; no-op if not an object.
#[inline]
pub fn for_each_member<'i>(nodes: &[Node<'i>], obj: usize, mut f: impl FnMut(&'i str, usize)) {
    let Some(&Node::Object { len, .. }) = nodes.get(obj) else {
        return;
    };
    let mut i = obj + 1;
    for _ in 0..len {
        let Some(&Node::String(key)) = nodes.get(i) else {
            return;
        };
        f(key, i + 1);
        i = skip(nodes, i + 1);
    }
}

/// The string at `i`, if it is one.
#[inline]
pub fn as_str<'i>(nodes: &[Node<'i>], i: usize) -> Option<&'i str> {
    match nodes.get(i) {
        Some(&Node::String(s)) => Some(s),
        _ => None,
    }
}

/// A non-negative integer at `i` (ids and timestamps).
#[inline]
pub fn as_u64(nodes: &[Node<'_>], i: usize) -> Option<u64> {
    match nodes.get(i) {
        Some(&Node::Static(StaticNode::U64(v))) => Some(v),
        Some(&Node::Static(StaticNode::I64(v))) => u64::try_from(v).ok(),
        _ => None,
    }
}

/// A signed integer at `i`.
#[inline]
pub fn as_i64(nodes: &[Node<'_>], i: usize) -> Option<i64> {
    match nodes.get(i) {
        Some(&Node::Static(StaticNode::I64(v))) => Some(v),
        Some(&Node::Static(StaticNode::U64(v))) => i64::try_from(v).ok(),
        _ => None,
    }
}

/// A boolean at `i`.
#[inline]
pub fn as_bool(nodes: &[Node<'_>], i: usize) -> Option<bool> {
    match nodes.get(i) {
        Some(&Node::Static(StaticNode::Bool(v))) => Some(v),
        _ => None,
    }
}

/// Length of the array at `i`, if it is one.
#[inline]
pub fn array_len(nodes: &[Node<'_>], i: usize) -> Option<usize> {
    match nodes.get(i) {
        Some(&Node::Array { len, .. }) => Some(len),
        _ => None,
    }
}
