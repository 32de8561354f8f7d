//! A trading floor on one [`Bus`]: market data fanned out to strategies by
//! topic, orders through a pipeline to a risk check and on to execution,
//! positions queried over request/reply.
//!
//! ```text
//!                      pub/sub "md"                  pipeline "orders"   pipeline "exec"
//!  feed ─ md.<venue>.<symbol> ─┬─► momentum  md.*.AAPL, md.*.MSFT, md.*.NVDA ─┐
//!  (Publisher)                 ├─► arb       md.XNYS.#  (DropOldest)          ├─► risk ×2 ─► execution
//!                              └─► index     prefix "md.BATS."               ─┘  (Pullers)    (Puller)
//!                                                                                                │ positions
//!  main ──── req/rep "positions": Query(symbol) → Position ──► position server ◄────────────────┘
//! ```
//!
//! The feed publishes ticks at a set rate on `md.<venue>.<symbol>` (3 venues ×
//! 8 symbols). Each strategy subscribes with a filter of its own (RabbitMQ
//! `*` and `#` words, a ZeroMQ prefix) and turns one tick in four into an
//! order carrying the tick's publication time. Two risk workers share the
//! orders (each order to exactly one of them), reject the oversized ones and
//! pass the rest to execution, which measures tick→order latency (tick
//! published → order in execution's hands, through pub/sub, a strategy, two
//! pipelines and a risk check) and books positions. Meanwhile the main thread
//! asks a position server for positions over req/rep and times the round
//! trips. At the end every count is checked: ticks each strategy saw against
//! what its filter should match (and, for the lossy `arb`, received + missed
//! = matched), orders sent = checked = accepted + rejected, accepted =
//! executed, and the positions the server reports = what execution booked.
//!
//! ```sh
//! cargo run --release --example trading_floor          # 400 000 ticks at 200 000 ticks/s
//! RINGBUS_DEMO_TICKS=50000 RINGBUS_DEMO_RATE=1000000 cargo run --release --example trading_floor
//! RINGBUS_DEMO_RATE=0 cargo run --release --example trading_floor   # unthrottled: peak throughput
//! ```
//!
//! Exits with status 1 if any check fails, 2 on a bad environment variable.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ringbus::pubsub::{Overflow, SubscriberOptions};
use ringbus::Bus;

const VENUES: [&str; 3] = ["XNAS", "XNYS", "BATS"];
const SYMBOLS: [&str; 8] = [
    "AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM",
];
/// Orders above this quantity are rejected by risk.
const MAX_QTY: u32 = 900;

/// A market-data update.
#[derive(Clone, Copy)]
struct Tick {
    seq: u64,
    venue: u8,
    symbol: u8,
    /// Price in cents.
    price: u32,
    /// When the feed published it: nanoseconds since the run's epoch.
    published: u64,
}

/// An order a strategy sends.
#[derive(Clone, Copy)]
struct Order {
    symbol: u8,
    /// Positive buys, negative sells.
    qty: i32,
    /// The publication time of the tick that triggered it.
    tick_published: u64,
}

/// A position query: the symbol's index.
type Query = u8;

/// A position: net quantity and number of fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    qty: i64,
    fills: u64,
}

struct Strategy {
    name: &'static str,
    overflow: Overflow,
    /// Does this strategy's filter match `(venue, symbol)`? The reference the
    /// bus's matching is checked against.
    wants: fn(usize, usize) -> bool,
}

const STRATEGIES: [Strategy; 3] = [
    Strategy {
        name: "momentum",
        overflow: Overflow::Block,
        wants: |_, s| s < 3,
    },
    Strategy {
        name: "arb",
        overflow: Overflow::DropOldest,
        wants: |v, _| v == 1,
    },
    Strategy {
        name: "index",
        overflow: Overflow::Block,
        wants: |v, _| v == 2,
    },
];

/// What a strategy thread reports.
struct StrategyTally {
    ticks: u64,
    /// Ticks whose topic was not their own `md.<venue>.<symbol>` or that
    /// this strategy's filter should not have matched.
    misrouted: u64,
    missed: u64,
    orders: u64,
}

fn main() -> ExitCode {
    let (ticks, rate) = match (
        env_number("RINGBUS_DEMO_TICKS", 400_000),
        env_number("RINGBUS_DEMO_RATE", 200_000),
    ) {
        (Ok(t), Ok(r)) if t > 0 => (t, r),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("error: RINGBUS_DEMO_TICKS must be positive");
            return ExitCode::from(2);
        }
    };
    let bus = Bus::new();
    let epoch = Instant::now();

    // Every handle is made before any thread starts, so no side can finish
    // and leave before another has connected.
    let feed = bus.publisher::<Tick>("md").expect("md");
    let mut strategy_threads = Vec::new();
    for (index, strategy) in STRATEGIES.iter().enumerate() {
        let options = SubscriberOptions::new().overflow(strategy.overflow);
        let mut md = bus.subscriber_with::<Tick>("md", options).expect("md");
        match strategy.name {
            "momentum" => {
                for symbol in &SYMBOLS[..3] {
                    md.subscribe(&format!("md.*.{symbol}")).expect("filter");
                }
            }
            "arb" => {
                md.subscribe("md.XNYS.#").expect("filter");
            }
            _ => {
                md.subscribe_prefix("md.BATS.");
            }
        }
        let orders = bus.pusher::<Order>("orders").expect("orders");
        let wants = strategy.wants;
        strategy_threads.push(thread::spawn(move || {
            let mut tally = StrategyTally {
                ticks: 0,
                misrouted: 0,
                missed: 0,
                orders: 0,
            };
            for message in md.iter() {
                let tick = *message.payload();
                tally.ticks += 1;
                let (venue, symbol) = (VENUES[tick.venue as usize], SYMBOLS[tick.symbol as usize]);
                let topic = message.topic();
                if !(wants)(tick.venue as usize, tick.symbol as usize)
                    || topic.len() != 4 + venue.len() + symbol.len()
                    || !topic.starts_with("md.")
                    || !topic[3..].starts_with(venue)
                    || !topic.ends_with(symbol)
                {
                    tally.misrouted += 1;
                }
                if tick.seq % 4 == index as u64 {
                    let qty = (tick.price % 1000) as i32 * if tick.seq % 8 < 4 { 1 } else { -1 };
                    let order = Order {
                        symbol: tick.symbol,
                        qty,
                        tick_published: tick.published,
                    };
                    orders.send(order).expect("risk is gone");
                    tally.orders += 1;
                }
            }
            tally.missed = md.missed() as u64;
            tally
        }));
    }

    let accepted = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let risk_threads: Vec<_> = (0..2)
        .map(|_| {
            let orders = bus.puller::<Order>("orders").expect("orders");
            let exec = bus.pusher::<Order>("exec").expect("exec");
            let (accepted, rejected) = (accepted.clone(), rejected.clone());
            thread::spawn(move || {
                for order in orders.iter() {
                    if order.qty.unsigned_abs() > MAX_QTY {
                        // Relaxed: a tally, read after the joins.
                        rejected.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // Relaxed: a tally, read after the joins.
                        accepted.fetch_add(1, Ordering::Relaxed);
                        exec.send(order).expect("execution is gone");
                    }
                }
            })
        })
        .collect();

    let positions: Arc<Vec<(AtomicI64, AtomicU64)>> = Arc::new(
        (0..SYMBOLS.len())
            .map(|_| (AtomicI64::new(0), AtomicU64::new(0)))
            .collect(),
    );
    let exec = bus.puller::<Order>("exec").expect("exec");
    let book = positions.clone();
    let execution = thread::spawn(move || {
        let mut latencies = Vec::with_capacity(ticks as usize / 2);
        let mut booked = vec![Position { qty: 0, fills: 0 }; SYMBOLS.len()];
        for order in exec.iter() {
            let now = epoch.elapsed().as_nanos() as u64;
            latencies.push(now.saturating_sub(order.tick_published));
            let (qty, fills) = &book[order.symbol as usize];
            // Relaxed: ordered by the Release on `fills` next.
            qty.fetch_add(order.qty as i64, Ordering::Relaxed);
            // Release: pairs with the position query's Acquire load of `fills`.
            fills.fetch_add(1, Ordering::Release);
            let position = &mut booked[order.symbol as usize];
            position.qty += order.qty as i64;
            position.fills += 1;
        }
        (latencies, booked)
    });

    let replier = bus
        .replier::<Query, Position>("positions")
        .expect("positions");
    let book = positions.clone();
    let position_server = thread::spawn(move || {
        let mut served = 0u64;
        for request in replier.iter() {
            let (qty, fills) = match book.get(*request.payload() as usize) {
                Some(entry) => entry,
                None => {
                    drop(request); // the requester gets `Unanswered`
                    continue;
                }
            };
            // Acquire: pairs with execution's Release increment of `fills`,
            // after its update of `qty`.
            let fills = fills.load(Ordering::Acquire);
            let position = Position {
                // Relaxed: after the Acquire load of `fills`.
                qty: qty.load(Ordering::Relaxed),
                fills,
            };
            if request.reply(position).is_ok() {
                served += 1;
            }
        }
        served
    });
    let positions_client = bus
        .requester::<Query, Position>("positions")
        .expect("positions");

    // The feed, on its own thread, at `rate` ticks per second.
    let feed_thread = thread::spawn(move || {
        let topics: Vec<Vec<_>> = VENUES
            .iter()
            .map(|venue| {
                SYMBOLS
                    .iter()
                    .map(|symbol| feed.topic(&format!("md.{venue}.{symbol}")).expect("topic"))
                    .collect()
            })
            .collect();
        let mut prices = [10_000u32; SYMBOLS.len()];
        let mut random = 0x2545_f491_4f6c_dd1du64;
        let start = Instant::now();
        let mut deliveries = 0u64;
        let mut seq = 0u64;
        while seq < ticks {
            // Publish every tick that is due, then sleep a little: the rate
            // holds on average, in bursts of about 100 µs.
            let due = if rate == 0 {
                ticks // unthrottled
            } else {
                ((start.elapsed().as_secs_f64() * rate as f64) as u64 + 1).min(ticks)
            };
            while seq < due {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let venue = (seq % VENUES.len() as u64) as usize;
                let symbol = ((seq / VENUES.len() as u64) % SYMBOLS.len() as u64) as usize;
                let price = &mut prices[symbol];
                *price = (*price as i64 + (random % 21) as i64 - 10).max(100) as u32;
                let tick = Tick {
                    seq,
                    venue: venue as u8,
                    symbol: symbol as u8,
                    price: *price,
                    published: epoch.elapsed().as_nanos() as u64,
                };
                deliveries += feed.send(&topics[venue][symbol], tick) as u64;
                seq += 1;
            }
            if seq < ticks {
                thread::sleep(Duration::from_micros(100));
            }
        }
        (start.elapsed(), deliveries)
    });

    // Position queries while the market runs.
    let mut round_trips = Vec::new();
    let mut symbol = 0u8;
    while !feed_thread.is_finished() {
        let asked = Instant::now();
        match positions_client.request(symbol) {
            Ok(_) => round_trips.push(asked.elapsed().as_nanos() as u64),
            Err(e) => {
                eprintln!("position query failed: {e}");
                return ExitCode::FAILURE;
            }
        }
        symbol = (symbol + 1) % SYMBOLS.len() as u8;
        thread::sleep(Duration::from_millis(1));
    }

    let (feed_time, deliveries) = feed_thread.join().expect("feed panicked");
    let tallies: Vec<StrategyTally> = strategy_threads
        .into_iter()
        .map(|t| t.join().expect("strategy panicked"))
        .collect();
    for t in risk_threads {
        t.join().expect("risk panicked");
    }
    let (mut latencies, booked) = execution.join().expect("execution panicked");
    let final_positions: Vec<Position> = (0..SYMBOLS.len() as u8)
        .map(|s| positions_client.request(s).expect("final position query"))
        .collect();
    drop(positions_client);
    let served = position_server.join().expect("position server panicked");

    // Report.
    let mut ok = true;
    let mut check = |what: &str, good: bool| {
        if !good {
            eprintln!("CHECK FAILED: {what}");
            ok = false;
        }
    };
    let pace = if rate == 0 {
        "unthrottled".to_string()
    } else {
        format!("at {rate} ticks/s")
    };
    println!(
        "trading floor: {} venues x {} symbols, {ticks} ticks {pace}, default wait (Backoff), 2 risk workers",
        VENUES.len(),
        SYMBOLS.len()
    );
    let secs = feed_time.as_secs_f64();
    println!(
        "  feed        {ticks} ticks in {secs:.2} s = {:.0} ticks/s, {deliveries} deliveries to strategies",
        ticks as f64 / secs
    );
    let mut orders_sent = 0;
    let mut expected_deliveries = 0;
    for (strategy, tally) in STRATEGIES.iter().zip(&tallies) {
        let matched = (0..ticks)
            .filter(|seq| {
                let venue = (seq % VENUES.len() as u64) as usize;
                let symbol = ((seq / VENUES.len() as u64) % SYMBOLS.len() as u64) as usize;
                (strategy.wants)(venue, symbol)
            })
            .count() as u64;
        expected_deliveries += matched;
        println!(
            "  {:<10}  {:>7} ticks matched its filter, {:>7} received, {:>5} missed ({:?}), {:>6} orders",
            strategy.name, matched, tally.ticks, tally.missed, strategy.overflow, tally.orders
        );
        check(
            &format!("{} got only its own topics", strategy.name),
            tally.misrouted == 0,
        );
        match strategy.overflow {
            Overflow::Block => check(
                &format!("{} (Block) received every tick it matched", strategy.name),
                tally.ticks == matched && tally.missed == 0,
            ),
            _ => check(
                &format!("{}: received + missed = matched", strategy.name),
                tally.ticks + tally.missed == matched,
            ),
        }
        orders_sent += tally.orders;
    }
    check(
        "the feed delivered each tick to every matching strategy",
        deliveries == expected_deliveries,
    );
    let (accepted, rejected) = (
        // Relaxed: tallies, read after the joins.
        accepted.load(Ordering::Relaxed),
        // Relaxed: a tally.
        rejected.load(Ordering::Relaxed),
    );
    println!(
        "  risk        {} orders checked by 2 workers: {accepted} accepted, {rejected} rejected (qty > {MAX_QTY})",
        accepted + rejected
    );
    check(
        "every order was risk-checked exactly once",
        accepted + rejected == orders_sent,
    );
    println!(
        "  execution   {} orders executed = {:.0} orders/s",
        latencies.len(),
        latencies.len() as f64 / secs
    );
    check(
        "every accepted order was executed",
        latencies.len() as u64 == accepted,
    );
    check(
        "the position server reports what execution booked",
        final_positions == booked,
    );
    latencies.sort_unstable();
    round_trips.sort_unstable();
    if !latencies.is_empty() {
        println!(
            "  tick->order latency, us: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
            quantile(&latencies, 0.50) as f64 / 1e3,
            quantile(&latencies, 0.90) as f64 / 1e3,
            quantile(&latencies, 0.99) as f64 / 1e3,
            quantile(&latencies, 0.999) as f64 / 1e3,
            *latencies.last().unwrap() as f64 / 1e3,
        );
    }
    if !round_trips.is_empty() {
        println!(
            "  position queries (req/rep) during the run: {} served, round trip us: p50 {:.1}  p99 {:.1}",
            served,
            quantile(&round_trips, 0.50) as f64 / 1e3,
            quantile(&round_trips, 0.99) as f64 / 1e3,
        );
    }
    for (symbol, position) in SYMBOLS.iter().zip(&final_positions).take(3) {
        println!(
            "  position    {symbol:<5} {:>+9} shares over {} fills",
            position.qty, position.fills
        );
    }
    if ok {
        println!("  all checks passed: nothing lost, nothing duplicated");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The `q` quantile of sorted `values`.
fn quantile(values: &[u64], q: f64) -> u64 {
    let index = ((values.len() as f64 * q) as usize).min(values.len() - 1);
    values[index]
}

/// A positive integer from the environment, or `default`.
fn env_number(var: &str, default: u64) -> Result<u64, String> {
    match std::env::var(var) {
        Ok(text) => text
            .replace('_', "")
            .parse()
            .map_err(|_| format!("{var}={text:?} is not a number")),
        Err(_) => Ok(default),
    }
}
