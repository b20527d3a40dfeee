//! The closed loop the raw modes share: each worker starts its next operation when the last one
//! answers, for a fixed time.
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// What a run did: the latency of each success, the failures, and how long it took in seconds.
pub struct Outcome {
    pub latencies: Vec<Duration>,
    pub errors: u64,
    pub seconds: f64,
}

/// Runs `op(worker, n)` back to back on each of `concurrency` workers for `seconds`; `op`
/// answers whether the operation succeeded.
pub async fn for_seconds<F, Fut>(concurrency: usize, seconds: u64, op: F) -> Outcome
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (op, stop) = (op.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    if op(worker, n).await {
                        latencies.push(t.elapsed())
                    } else {
                        errors += 1
                    }
                    n += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcome = Outcome { latencies: Vec::new(), errors: 0, seconds: 0.0 };
    for worker in workers {
        let (latencies, errors) = worker.await.expect("a closed-loop worker");
        outcome.latencies.extend(latencies);
        outcome.errors += errors;
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    outcome
}
