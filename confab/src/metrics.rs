//! The process's metrics recorder: every crate counts through the `metrics` facade, and this
//! keeps the counts for `/metrics` in Prometheus's format.
use std::{sync::OnceLock, time::Duration};

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of the latency histograms (seconds): a millisecond to ten seconds.
const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets of the batch-size histograms (records).
const RECORDS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0];
/// How often histograms are folded into their buckets (memory stays bounded between scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder (once per process) and keeps it in upkeep.
pub(crate) fn install() -> anyhow::Result<()> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_records".into()), RECORDS))
        .context("metric buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let kept = handle.clone();
    let _upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            let _ = every.tick().await;
            kept.run_upkeep();
        }
    });
    confab_api::metrics::describe();
    confab_consumers::metrics::describe();
    confab_producers::metrics::describe();
    metrics::describe_gauge!("confab_build_info", "1, labelled with the running version");
    metrics::gauge!("confab_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let _ = HANDLE.set(handle);
    Ok(())
}

/// The recorder's handle, for a `/metrics` endpoint.
pub(crate) fn handle() -> anyhow::Result<PrometheusHandle> {
    HANDLE.get().cloned().context("the metrics recorder is not installed")
}
