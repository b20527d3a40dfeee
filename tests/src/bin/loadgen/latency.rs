//! Latency figures as the benchmarks print them.
use std::time::Duration;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Prints p50, p90, p99 and max of `latencies` (sorting them), unless there are none.
pub fn print(name: &str, latencies: &mut [Duration]) {
    if latencies.is_empty() {
        return;
    }
    latencies.sort();
    let ms = |p| percentile(latencies, p).as_secs_f64() * 1e3;
    println!("{name} latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}", ms(0.50), ms(0.90), ms(0.99), ms(1.0));
}
