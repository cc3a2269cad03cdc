//! Parses `shm/LAYOUT.md` and checks it against the code, so the two cannot drift.
#![cfg(not(loom))]

use obi_shm::layout::{FIELDS, LAYOUT_LEN_BYTES};
use obi_shm::{CounterId, GaugeId, InstrumentGaugeId};

const DOC: &str = include_str!("../LAYOUT.md");

/// Rows (cells trimmed) of the markdown table whose header row is exactly `header`.
fn table(header: &[&str]) -> Vec<Vec<String>> {
    let split = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect()
    };
    let mut lines = DOC.lines();
    let found = lines.by_ref().any(|l| {
        l.trim_start().starts_with('|')
            && split(l)
                .iter()
                .map(String::as_str)
                .eq(header.iter().copied())
    });
    assert!(found, "LAYOUT.md has no table with header {header:?}");
    lines
        .skip(1) // the |---| separator
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(split)
        .collect()
}

#[test]
fn field_table_matches_code() {
    let rows = table(&["name", "offset", "size", "type"]);
    let doc: Vec<(String, usize, usize, String)> = rows
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), 4, "row {r:?}");
            let n = |s: &str| s.parse::<usize>().unwrap_or_else(|e| panic!("{s:?}: {e}"));
            (r[0].clone(), n(&r[1]), n(&r[2]), r[3].clone())
        })
        .collect();
    let code: Vec<(String, usize, usize, String)> = FIELDS
        .iter()
        .map(|f| (f.name.to_owned(), f.offset, f.size, f.ty.to_owned()))
        .collect();
    assert_eq!(
        doc, code,
        "LAYOUT.md field table differs from layout::FIELDS"
    );
    let last = FIELDS.last().expect("fields");
    assert_eq!(last.offset + last.size, LAYOUT_LEN_BYTES);
    assert!(DOC.contains(&format!("Total length: {LAYOUT_LEN_BYTES} bytes")));
}

fn slot_table(header: &str) -> Vec<(usize, String)> {
    table(&[header, "name"])
        .into_iter()
        .map(|r| (r[0].parse().expect("slot number"), r[1].clone()))
        .collect()
}

#[test]
fn slot_tables_match_registries() {
    let counters: Vec<_> = CounterId::ALL
        .iter()
        .map(|id| (id.slot(), id.name().to_owned()))
        .collect();
    assert_eq!(slot_table("counter slot"), counters);
    let gauges: Vec<_> = GaugeId::ALL
        .iter()
        .map(|id| (id.slot(), id.name().to_owned()))
        .collect();
    assert_eq!(slot_table("gauge slot"), gauges);
    let inst: Vec<_> = InstrumentGaugeId::ALL
        .iter()
        .map(|id| (id.slot(), id.name().to_owned()))
        .collect();
    assert_eq!(slot_table("instrument gauge slot"), inst);
}

#[test]
fn registry_names_are_unique_and_counters_end_in_total() {
    for id in CounterId::ALL {
        assert!(id.name().ends_with("_total"), "{}", id.name());
        assert_eq!(CounterId::from_slot(id.slot()), Some(*id));
        assert!(!id.help().is_empty());
    }
    let mut names: Vec<&str> = CounterId::ALL.iter().map(|id| id.name()).collect();
    names.extend(GaugeId::ALL.iter().map(|id| id.name()));
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate metric names");
}
