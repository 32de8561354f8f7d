//! The table (stdout and `docs/benchmarks.md`), the machine it ran on, and
//! the generated section between the markers.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use crate::harness::Unit;
use crate::subjects::{Family, Rate, Subject};
use crate::svg::{format_ns, format_rate, QUANTILES};

/// Opens the generated section of `docs/benchmarks.md`.
pub const BEGIN: &str = "<!-- latency-lab:begin -->";
/// Closes it.
pub const END: &str = "<!-- latency-lab:end -->";

/// One measured subject.
pub struct Row {
    /// Subject name.
    pub name: &'static str,
    /// Its wait.
    pub wait: &'static str,
    /// Which plot.
    pub family: Family,
    /// ringbus or a peer.
    pub ringbus: bool,
    /// One way or round trip.
    pub unit: Unit,
    /// `[p50, p90, p99, p99.9, p99.99, max]` in ns.
    pub ns: [f64; 6],
    /// Throughput.
    pub rate: Rate,
}

impl Row {
    /// The row of `subject`, from its histogram and rate.
    pub fn new(subject: &Subject, hist: &Histogram<u64>, rate: Rate) -> Row {
        let mut ns = [0.0; 6];
        for (slot, q) in ns.iter_mut().zip(QUANTILES) {
            *slot = hist.value_at_quantile(q) as f64;
        }
        ns[5] = hist.max() as f64;
        Row {
            name: subject.name,
            wait: subject.wait,
            family: subject.family,
            ringbus: subject.ringbus,
            unit: subject.unit,
            ns,
            rate,
        }
    }

    /// The throughput cell: the rate and its caveat.
    fn rate_cell(&self) -> String {
        match &self.rate.note {
            Some(note) => format!("{} ({note})", format_rate(self.rate.per_sec)),
            None => format_rate(self.rate.per_sec),
        }
    }
}

/// The column heads.
const HEADS: [&str; 9] = [
    "subject",
    "wait",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "p99.99",
    "max",
    "throughput",
];

/// The cells of every row.
fn cells(rows: &[Row]) -> Vec<[String; 9]> {
    rows.iter()
        .map(|r| {
            let [a, b, c, d, e, f] = r.ns.map(format_ns);
            [
                r.name.to_string(),
                r.wait.to_string(),
                a,
                b,
                c,
                d,
                e,
                f,
                r.rate_cell(),
            ]
        })
        .collect()
}

/// The table as aligned text for stdout.
pub fn text_table(rows: &[Row]) -> String {
    let cells = cells(rows);
    let mut widths = HEADS.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        let mut out = String::new();
        for (k, (c, w)) in row.iter().zip(widths).enumerate() {
            let pad = w - c.chars().count();
            if k < 2 || k == 8 {
                let _ = write!(out, "{c}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{c}  ", " ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(&HEADS.map(String::from));
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

/// The table in Markdown.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n", HEADS.join(" | "));
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (row, r) in cells(rows).iter().zip(rows) {
        let mut row = row.clone();
        if r.ringbus {
            row[0] = format!("**{}**", row[0]);
        }
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// `nproc`, the CPU model (from `/proc/cpuinfo`) and the kernel.
pub fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu_model(&cpuinfo).unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.to_string());
    format!("nproc = {nproc}, {model}, {kernel}")
}

/// The first `model name` of a `/proc/cpuinfo`.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Today's date (UTC) and time, from the system clock: `2026-11-26 09:40 UTC`.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Replaces what lies between [`BEGIN`] and [`END`] in `doc` with
/// `section`; appends the markers and the section if `doc` has none.
pub fn replace_section(doc: &str, section: &str) -> Result<String, String> {
    let body = format!("{BEGIN}\n{}\n{END}", section.trim_end());
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => Ok(format!("{}{body}{}", &doc[..b], &doc[e + END.len()..])),
        (None, None) => Ok(format!("{}\n\n{body}\n", doc.trim_end())),
        _ => Err(format!("{BEGIN} and {END} are not a pair in order")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_is_replaced_between_the_markers_only() {
        let doc = format!("head\n{BEGIN}\nold\n{END}\ntail\n");
        let new = replace_section(&doc, "new\n").unwrap();
        assert_eq!(new, format!("head\n{BEGIN}\nnew\n{END}\ntail\n"));
        // Idempotent.
        assert_eq!(replace_section(&new, "new").unwrap(), new);
    }

    #[test]
    fn section_is_appended_when_there_are_no_markers() {
        let new = replace_section("head\n", "x").unwrap();
        assert_eq!(new, format!("head\n\n{BEGIN}\nx\n{END}\n"));
    }

    #[test]
    fn markers_out_of_order_are_an_error() {
        assert!(replace_section(&format!("{END}\n{BEGIN}"), "x").is_err());
        assert!(replace_section(&format!("{BEGIN} only"), "x").is_err());
    }

    #[test]
    fn cpu_model_is_read_from_cpuinfo() {
        let info = "processor\t: 0\nmodel name\t: AMD  EPYC 9R45\nflags\t: x\n";
        assert_eq!(cpu_model(info).as_deref(), Some("AMD EPYC 9R45"));
        assert_eq!(cpu_model("nothing"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn tables_have_a_row_per_subject() {
        let row = Row {
            name: "ringbus spsc",
            wait: "Spin",
            family: Family::Spin,
            ringbus: true,
            unit: Unit::OneWay,
            ns: [90.0, 120.0, 200.0, 1500.0, 20_000.0, 40_000.0],
            rate: Rate {
                per_sec: 3e8,
                note: None,
            },
        };
        let md = markdown_table(std::slice::from_ref(&row));
        assert_eq!(md.lines().count(), 3);
        assert!(md.contains("| **ringbus spsc** | Spin | 90 ns | 120 ns | 200 ns | 1.50 µs | 20 µs | 40 µs | 300 M/s |"));
        let text = text_table(&[row]);
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("subject"));
    }
}
