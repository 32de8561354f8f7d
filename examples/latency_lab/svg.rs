//! Hand-written SVG plots, no plotting crate: percentile curves on a
//! "nines" axis with a log-scale latency axis, and horizontal throughput
//! bars on a log scale. Plain SVG 1.1 that browsers and GitHub render; a
//! white background so that it reads on a dark page too.

use std::fmt::Write as _;

/// Distinct line colours (Tableau 10), cycled.
pub const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
];

/// Line colours for the peers (dashed), none of them one of the first seven
/// of [`PALETTE`], which the ringbus subjects take.
pub const PEER_PALETTE: [&str; 8] = [
    "#000000", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#e7969c", "#637939", "#843c39",
];

/// Roughly how wide `text` is at the 12 px font, in px.
pub fn text_width(text: &str) -> f64 {
    6.8 * text.chars().count() as f64
}

/// The percentile points of every curve, as quantiles; the last point of a
/// curve is the maximum, drawn at [`MAX_NINES`].
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 0.9999];

/// Where the maximum sits on the nines axis (one step past 99.99).
pub const MAX_NINES: f64 = 5.0;

/// One curve: a label, values in ns at [`QUANTILES`] then the maximum.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// `[p50, p90, p99, p99.9, p99.99, max]` in ns.
    pub values: [f64; 6],
    /// Stroke colour.
    pub color: &'static str,
    /// Dashed (the peers) or solid (ringbus).
    pub dashed: bool,
}

/// One bar: a label, a value per second, solid (ringbus) or pale (peer).
#[derive(Clone, Debug)]
pub struct Bar {
    /// Text left of the bar.
    pub label: String,
    /// Messages (or round trips) per second.
    pub per_sec: f64,
    /// Fill colour.
    pub color: &'static str,
}

/// Escapes text for an SVG text node or attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A quantile on the "nines" axis: `-log10(1 - q)` (0.9 → 1, 0.99 → 2).
pub fn nines(q: f64) -> f64 {
    -(1.0 - q).log10()
}

/// The decades `10^k` that cover `lo..=hi` (both > 0), as exponents.
pub fn decades(lo: f64, hi: f64) -> (i32, i32) {
    let lo = lo.max(1e-9).log10().floor() as i32;
    let hi = hi.max(1e-9).log10().ceil() as i32;
    (lo, hi.max(lo + 1))
}

/// Nanoseconds in a short human unit: `85 ns`, `1.5 µs`, `12 ms`, `2 s`.
pub fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if value >= 100.0 || value == value.round() {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

/// A rate in a short human unit: `950 k/s`, `12.3 M/s`, `1.20 G/s`.
pub fn format_rate(per_sec: f64) -> String {
    let (value, unit) = if per_sec < 1e6 {
        (per_sec / 1e3, "k/s")
    } else if per_sec < 1e9 {
        (per_sec / 1e6, "M/s")
    } else {
        (per_sec / 1e9, "G/s")
    };
    if value >= 100.0 || value == value.round() {
        format!("{value:.0} {unit}")
    } else if value >= 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.2} {unit}")
    }
}

/// A decade's tick label: `1 ns`, `100 µs`, `10 M/s`.
fn decade_label(exp: i32, rate: bool) -> String {
    let v = 10f64.powi(exp);
    if rate {
        format_rate(v)
    } else {
        format_ns(v)
    }
}

/// The header of an SVG of `width × height` with a white background and a
/// title.
fn open(out: &mut String, width: f64, height: f64, title: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        width / 2.0,
        escape(title)
    );
}

/// Percentile curves: x is the percentile on a nines axis (50, 90, 99,
/// 99.9, 99.99, max), y the latency in ns on a log scale; one line per
/// series, the legend on the right.
pub fn percentile_plot(title: &str, subtitle: &str, series: &[Series]) -> String {
    let (plot_w, plot_h): (f64, f64) = (560.0, 400.0);
    let (left, top): (f64, f64) = (70.0, 56.0);
    let legend_x = left + plot_w + 30.0;
    let legend_h = 18.0 * series.len() as f64;
    let legend_w = series
        .iter()
        .map(|s| text_width(&s.label))
        .fold(200.0, f64::max);
    let width = legend_x + 34.0 + legend_w + 10.0;
    let height = (top + plot_h + 60.0).max(top + legend_h + 20.0);

    let values = series.iter().flat_map(|s| s.values).filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo_exp, hi_exp) = if hi > 0.0 { decades(lo, hi) } else { (1, 4) };
    let x_of = |n: f64| left + plot_w * (n - nines(0.5)) / (MAX_NINES - nines(0.5));
    let y_of = |ns: f64| {
        let t = (ns.max(10f64.powi(lo_exp)).log10() - lo_exp as f64) / (hi_exp - lo_exp) as f64;
        top + plot_h * (1.0 - t)
    };

    let mut out = String::new();
    open(&mut out, width, height, title);
    let _ = writeln!(
        out,
        r##"<text x="{}" y="40" text-anchor="middle" fill="#555">{}</text>"##,
        width / 2.0,
        escape(subtitle)
    );
    // Grid and y labels: a line per decade, faint ones at 2× and 5×.
    for exp in lo_exp..=hi_exp {
        let y = y_of(10f64.powi(exp));
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ccc"/>"##,
            left + plot_w
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 4.0,
            decade_label(exp, false)
        );
        if exp < hi_exp {
            for m in [2.0, 5.0] {
                let y = y_of(m * 10f64.powi(exp));
                let _ = writeln!(
                    out,
                    r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/>"##,
                    left + plot_w
                );
            }
        }
    }
    // x ticks.
    let ticks = QUANTILES
        .iter()
        .map(|&q| (nines(q), format!("p{}", q * 100.0)))
        .chain([(MAX_NINES, "max".to_string())]);
    for (n, label) in ticks {
        let x = x_of(n);
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            top + plot_h
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + plot_h + 18.0,
            escape(&label)
        );
    }
    let _ = writeln!(
        out,
        r##"<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">percentile (log scale of nines)</text>"#,
        left + plot_w / 2.0,
        top + plot_h + 40.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">latency (log scale)</text>"#,
        top + plot_h / 2.0
    );
    // Curves and legend.
    let xs: Vec<f64> = QUANTILES
        .iter()
        .map(|&q| nines(q))
        .chain([MAX_NINES])
        .collect();
    for (k, s) in series.iter().enumerate() {
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let stroke_w = if s.dashed { 1.6 } else { 2.2 };
        let points: Vec<String> = xs
            .iter()
            .zip(s.values)
            .map(|(&n, v)| format!("{:.1},{:.1}", x_of(n), y_of(v)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="{stroke_w}"{dash} points="{}"><title>{}</title></polyline>"#,
            s.color,
            points.join(" "),
            escape(&s.label)
        );
        for p in &points {
            let (x, y) = p.split_once(',').expect("x,y");
            let _ = writeln!(
                out,
                r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{}"/>"#,
                s.color
            );
        }
        let y = top + 18.0 * k as f64 + 6.0;
        let _ = writeln!(
            out,
            r#"<line x1="{legend_x}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="{stroke_w}"{dash}/>"#,
            legend_x + 28.0,
            s.color
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            legend_x + 34.0,
            y + 4.0,
            escape(&s.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Horizontal bars on a log scale (rates span four decades), the value
/// printed at the end of each bar.
pub fn bar_chart(title: &str, subtitle: &str, bars: &[Bar]) -> String {
    let label_w = bars
        .iter()
        .map(|b| text_width(&b.label))
        .fold(100.0, f64::max);
    let (plot_w, bar_h, gap) = (520.0, 16.0, 6.0);
    let (left, top) = (label_w + 10.0, 56.0);
    let plot_h = (bar_h + gap) * bars.len() as f64 + gap;
    let width = left + plot_w + 90.0;
    let height = top + plot_h + 50.0;

    let (lo, hi) = bars
        .iter()
        .map(|b| b.per_sec)
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo_exp, hi_exp) = if hi > 0.0 { decades(lo, hi) } else { (5, 9) };
    let x_of = |v: f64| {
        let t = (v.max(10f64.powi(lo_exp)).log10() - lo_exp as f64) / (hi_exp - lo_exp) as f64;
        left + plot_w * t
    };

    let mut out = String::new();
    open(&mut out, width, height, title);
    let _ = writeln!(
        out,
        r##"<text x="{}" y="40" text-anchor="middle" fill="#555">{}</text>"##,
        width / 2.0,
        escape(subtitle)
    );
    for exp in lo_exp..=hi_exp {
        let x = x_of(10f64.powi(exp));
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{:.1}" stroke="#ccc"/>"##,
            top + plot_h
        );
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + plot_h + 16.0,
            decade_label(exp, true)
        );
    }
    for (k, b) in bars.iter().enumerate() {
        let y = top + gap + (bar_h + gap) * k as f64;
        let x_end = x_of(b.per_sec);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + bar_h - 4.0,
            escape(&b.label)
        );
        let _ = writeln!(
            out,
            r#"<rect x="{left}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{}"><title>{}</title></rect>"#,
            (x_end - left).max(1.0),
            b.color,
            escape(&format!("{}: {}", b.label, format_rate(b.per_sec)))
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x_end + 5.0,
            y + bar_h - 4.0,
            format_rate(b.per_sec)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">per second (log scale)</text>"#,
        left + plot_w / 2.0,
        top + plot_h + 36.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_axis() {
        assert!((nines(0.9) - 1.0).abs() < 1e-9);
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        assert!((nines(0.9999) - 4.0).abs() < 1e-9);
        assert!(nines(0.5) < nines(0.9));
    }

    #[test]
    fn decades_cover_the_range() {
        assert_eq!(decades(85.0, 40_000.0), (1, 5));
        assert_eq!(decades(100.0, 100.0), (2, 3));
    }

    #[test]
    fn human_units() {
        assert_eq!(format_ns(85.0), "85 ns");
        assert_eq!(format_ns(1500.0), "1.50 µs");
        assert_eq!(format_ns(21_649.0), "21.6 µs");
        assert_eq!(format_ns(1e6), "1 ms");
        assert_eq!(format_rate(950_000.0), "950 k/s");
        assert_eq!(format_rate(12_345_678.0), "12.3 M/s");
        assert_eq!(format_rate(1.2e9), "1.20 G/s");
        assert_eq!(format_rate(1e7), "10 M/s");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    fn series(label: &str, base: f64) -> Series {
        Series {
            label: label.to_string(),
            values: [
                base,
                base * 1.2,
                base * 2.0,
                base * 5.0,
                base * 20.0,
                base * 100.0,
            ],
            color: PALETTE[0],
            dashed: false,
        }
    }

    #[test]
    fn percentile_plot_has_a_line_and_a_legend_entry_per_series() {
        let svg = percentile_plot("t", "s", &[series("a & b", 100.0), series("c", 300.0)]);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 12);
        assert!(svg.contains(">a &amp; b</text>"));
        assert!(svg.contains(">p99.9</text>") && svg.contains(">max</text>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn bar_chart_has_a_bar_per_entry() {
        let bars = [
            Bar {
                label: "x".into(),
                per_sec: 2e6,
                color: PALETTE[1],
            },
            Bar {
                label: "y".into(),
                per_sec: 3e8,
                color: PALETTE[2],
            },
        ];
        let svg = bar_chart("t", "s", &bars);
        // The background plus two bars.
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(">300 M/s</text>"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn empty_plots_still_render() {
        assert!(percentile_plot("t", "s", &[]).ends_with("</svg>\n"));
        assert!(bar_chart("t", "s", &[]).ends_with("</svg>\n"));
    }
}
