//! The latency lab: publish → receive latency percentiles (p50 … p99.99,
//! max) and one-way throughput for every ringbus primitive and pattern and
//! for its peers, side by side, with the same method for all; writes the
//! table into `docs/benchmarks.md` and the plots under `docs/img/`.
//!
//! ```sh
//! cargo run --release --example latency_lab                  # ~2 minutes, rewrites the docs
//! cargo run --release --example latency_lab --features zmq   # with the ZeroMQ peers
//! RINGBUS_LAB_ROUNDS=2000 RINGBUS_LAB_MESSAGES=20000 RINGBUS_LAB_NO_WRITE=1 \
//!     cargo run --release --example latency_lab              # a quick check, writes nothing
//! ```
//!
//! **Method.** Latency is half of a ping-pong round trip: a pinger thread
//! pinned to core 0 sends `i` and waits for it to come back over a second
//! queue from an echo thread pinned to core 1; each round trip is timed with
//! `Instant` around the send and the receive, halved, and recorded in an
//! HdrHistogram (ns, 3 significant digits). The same two pinned threads,
//! the same halving and the same spin loop serve every subject. Request/
//! reply (ringbus `reqrep`, ZeroMQ REQ/REP) is reported as the whole round
//! trip, its natural unit. Throughput streams `n` messages one way (core 0
//! → core 1), three times; the median is shown (request/reply: round trips
//! per second, one request in flight, a twentieth as many). Each ringbus
//! subject runs once busy-spinning (`Wait::Spin`, `try_` operations in a
//! spin loop that yields after 1024 tries) and once with the default wait
//! (`Wait::Backoff`, blocking `send`/`recv`); each peer runs in its own
//! natural wait. Every message is checked: a lost, duplicated or reordered
//! one fails the lab (exit status 1, no file written), and a watchdog turns
//! a wait that never ends into the same failure.
//!
//! **Knobs.** `RINGBUS_LAB_ROUNDS` (recorded round trips per subject,
//! default 100 000, after a tenth as many unrecorded), `RINGBUS_LAB_MESSAGES`
//! (messages per throughput run, default 1 000 000), `RINGBUS_LAB_NO_WRITE=1`
//! (print only), `RINGBUS_LAB_ONLY=text` (only the subjects whose name or
//! wait contains `text`; writes nothing).

mod endpoints;
mod harness;
mod report;
mod subjects;
mod svg;
#[cfg(feature = "zmq")]
mod zeromq;

use std::path::Path;
use std::time::{Duration, Instant};

use harness::{Unit, Watchdog};
use report::Row;
use subjects::{Family, Subject};
use svg::{Bar, Series, PALETTE, PEER_PALETTE};

/// The command that regenerates everything.
const COMMAND: &str = if cfg!(feature = "zmq") {
    "cargo run --release --example latency_lab --features zmq"
} else {
    "cargo run --release --example latency_lab"
};

/// Throughput runs per subject; the median is reported.
const RATE_RUNS: usize = 3;

/// Request/reply throughput runs `1 / ROUND_TRIP_SHARE` as many round trips
/// as the other subjects send messages.
const ROUND_TRIP_SHARE: u64 = 20;

/// The lab's settings, from the environment.
struct Config {
    rounds: u64,
    warmup: u64,
    messages: u64,
    write: bool,
    only: Option<String>,
}

/// A positive number from `var`, or `default`.
fn number(var: &str, default: u64) -> Result<u64, String> {
    match std::env::var(var) {
        Err(_) => Ok(default),
        Ok(s) => match s.replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{var}: not a positive number: {s:?}")),
        },
    }
}

fn config() -> Result<Config, String> {
    let rounds = number("RINGBUS_LAB_ROUNDS", 100_000)?;
    let messages = number("RINGBUS_LAB_MESSAGES", 1_000_000)?;
    let only = std::env::var("RINGBUS_LAB_ONLY")
        .ok()
        .filter(|s| !s.is_empty());
    let no_write = std::env::var("RINGBUS_LAB_NO_WRITE").is_ok_and(|v| !v.is_empty() && v != "0");
    Ok(Config {
        rounds,
        warmup: (rounds / 10).max(100),
        messages,
        write: !no_write && only.is_none(),
        only,
    })
}

fn main() {
    let config = match config() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("error: {msg}");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| "?".to_string());
    let mut subjects = subjects::ringbus_subjects();
    subjects.extend(subjects::peer_subjects());
    if let Some(only) = &config.only {
        subjects.retain(|s| s.name.contains(only.as_str()) || s.wait.contains(only.as_str()));
    }
    eprintln!(
        "latency lab: {} subjects, {} round trips each (+{} warm-up), {} messages per throughput run; threads {}",
        subjects.len(),
        config.rounds,
        config.warmup,
        config.messages,
        if harness::can_pin() {
            "pinned to cores 0 and 1"
        } else {
            "NOT pinned (fewer than 2 cores, or pinning unsupported)"
        }
    );

    let mut rows = Vec::new();
    let mut failed = false;
    for subject in &subjects {
        let start = Instant::now();
        match measure(subject, &config) {
            Ok(row) => {
                eprintln!(
                    "  {:<36} {:<18} p50 {:>9}  p99.9 {:>9}  {:>9}  ({:.1} s)",
                    subject.name,
                    subject.wait,
                    svg::format_ns(row.ns[0]),
                    svg::format_ns(row.ns[3]),
                    svg::format_rate(row.rate.per_sec),
                    start.elapsed().as_secs_f64()
                );
                rows.push(row);
            }
            Err(msg) => {
                eprintln!("FAILED: {} ({}): {msg}", subject.name, subject.wait);
                failed = true;
            }
        }
    }
    // Spinning first, then the default wait; ringbus before its peers.
    rows.sort_by_key(|r| (r.family == Family::Default, !r.ringbus));
    let elapsed = started.elapsed();

    println!();
    println!(
        "publish → receive latency (half a round trip; reqrep and REQ/REP: whole round trip), \
         throughput 1 → 1"
    );
    print!("{}", report::text_table(&rows));
    println!();
    println!(
        "machine: {}; load average at start {load}",
        report::machine()
    );
    println!("took {:.0} s; command: {COMMAND}", elapsed.as_secs_f64());

    if failed {
        eprintln!(
            "some subjects failed (a message lost, duplicated or reordered?): nothing written"
        );
        std::process::exit(1);
    }
    if config.write {
        if let Err(msg) = write_outputs(&rows, &config, &load) {
            eprintln!("error: {msg}");
            std::process::exit(1);
        }
    } else {
        println!("(RINGBUS_LAB_NO_WRITE or RINGBUS_LAB_ONLY set: no file written)");
    }
}

/// Runs one subject's latency and throughput, under a watchdog.
fn measure(subject: &Subject, config: &Config) -> Result<Row, String> {
    let limit = Duration::from_secs(120)
        + Duration::from_millis(config.rounds + config.warmup)
        + Duration::from_micros(10 * RATE_RUNS as u64 * config.messages);
    let _watchdog = Watchdog::start(format!("{} ({})", subject.name, subject.wait), limit);
    let hist = (subject.latency)(config.rounds, config.warmup)?;
    // A round trip takes far longer than a message: fewer of them.
    let n = match subject.unit {
        Unit::OneWay => config.messages,
        Unit::RoundTrip => (config.messages / ROUND_TRIP_SHARE).max(100),
    };
    // Short runs on a shared machine: the median of three.
    let mut rates = (0..RATE_RUNS)
        .map(|_| (subject.rate)(n))
        .collect::<Result<Vec<_>, _>>()?;
    rates.sort_by(|a, b| a.per_sec.total_cmp(&b.per_sec));
    let rate = rates.swap_remove(RATE_RUNS / 2);
    Ok(Row::new(subject, &hist, rate))
}

/// A subject's label in the plots.
fn label(row: &Row) -> String {
    let unit = match row.unit {
        Unit::OneWay => "",
        Unit::RoundTrip => " (round trip)",
    };
    format!(
        "{}, {}{unit}",
        row.name.replace(" (round trip)", ""),
        row.wait
    )
}

/// The percentile curves of one family: ringbus solid, peers dashed.
fn curves(rows: &[Row], family: Family) -> Vec<Series> {
    let (mut ours, mut theirs) = (0, 0);
    rows.iter()
        .filter(|r| r.family == family)
        .map(|r| {
            let k = if r.ringbus { &mut ours } else { &mut theirs };
            let color = if r.ringbus {
                PALETTE[*k % PALETTE.len()]
            } else {
                PEER_PALETTE[*k % PEER_PALETTE.len()]
            };
            *k += 1;
            Series {
                label: label(r),
                values: r.ns,
                color,
                dashed: !r.ringbus,
            }
        })
        .collect()
}

/// Writes the plots and the generated section of `docs/benchmarks.md`.
fn write_outputs(rows: &[Row], config: &Config, load: &str) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let img = root.join("docs/img");
    std::fs::create_dir_all(&img).map_err(|e| format!("{}: {e}", img.display()))?;
    let date = report::now_utc();
    let machine = report::machine();
    let subtitle =
        format!("{date}; {machine}; half a ping-pong round trip, threads pinned to 2 cores");
    let write = |name: &str, text: String| {
        let path = img.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
        Ok::<(), String>(())
    };
    write(
        "latency_percentiles.svg",
        svg::percentile_plot(
            "publish → receive latency, busy-spinning (ringbus Wait::Spin: solid; peers: dashed)",
            &subtitle,
            &curves(rows, Family::Spin),
        ),
    )?;
    write(
        "latency_percentiles_default_wait.svg",
        svg::percentile_plot(
            "publish → receive latency, default / blocking wait (ringbus Wait::Backoff: solid; peers: dashed)",
            &subtitle,
            &curves(rows, Family::Default),
        ),
    )?;
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| Bar {
            label: match &r.rate.note {
                Some(_) if r.unit == Unit::RoundTrip => {
                    format!(
                        "{}, {}: round trips",
                        r.name.replace(" (round trip)", ""),
                        r.wait
                    )
                }
                Some(_) => format!("{}: published", label(r)),
                None => label(r),
            },
            per_sec: r.rate.per_sec,
            color: if r.ringbus { PALETTE[0] } else { "#aaaaaa" },
        })
        .collect();
    write(
        "throughput.svg",
        svg::bar_chart(
            "throughput 1 → 1, messages per second (ringbus: blue; peers: grey)",
            &format!(
                "{date}; {machine}; {} messages per run (median of 3), producer and consumer pinned",
                config.messages
            ),
            &bars,
        ),
    )?;

    let doc_path = root.join("docs/benchmarks.md");
    let doc =
        std::fs::read_to_string(&doc_path).map_err(|e| format!("{}: {e}", doc_path.display()))?;
    let section = section(rows, config, &date, &machine, load);
    let doc = report::replace_section(&doc, &section)?;
    std::fs::write(&doc_path, doc).map_err(|e| format!("{}: {e}", doc_path.display()))?;
    println!(
        "wrote {} (the section between the latency-lab markers)",
        doc_path.display()
    );
    Ok(())
}

/// The generated section of `docs/benchmarks.md`.
fn section(rows: &[Row], config: &Config, date: &str, machine: &str, load: &str) -> String {
    let zmq = if cfg!(feature = "zmq") {
        "with the ZeroMQ peers"
    } else {
        "without the ZeroMQ peers (add `--features zmq`)"
    };
    format!(
        "*Generated by `{COMMAND}` ({zmq}) on {date}. Machine: {machine}; load average \
         {load} at the start. {} round trips per subject after {} unrecorded; {} messages \
         per throughput run (median of 3; request/reply: a twentieth as many round trips). Do not edit between the markers: rerun the command.*\n\n\
         One-way latency is half of a ping-pong round trip between two threads pinned to \
         cores 0 and 1, timed with `Instant` and recorded in an HdrHistogram (ns, 3 \
         significant digits); `reqrep` and ZeroMQ REQ/REP show the **whole round trip**. \
         \"Spin\" rows busy-spin on both threads (ringbus `Wait::Spin`, `try_` operations in \
         one shared spin loop); \"Backoff (default)\" and \"blocking\" rows use the blocking \
         calls. Throughput streams messages one way, producer on core 0, consumer on core 1; \
         every message is checked. Queues hold 1024 `u64`s. Compare rows of one run only.\n\n\
         ![publish → receive latency, busy-spinning](img/latency_percentiles.svg)\n\n\
         ![publish → receive latency, default wait](img/latency_percentiles_default_wait.svg)\n\n\
         ![throughput 1 → 1](img/throughput.svg)\n\n{}",
        config.rounds,
        config.warmup,
        config.messages,
        report::markdown_table(rows)
    )
}
