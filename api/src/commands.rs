//! The operator commands that read the data directory directly: export, rebuild, dump.
use std::{io::Write, sync::Arc};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use confab_consumers::{
    projection::{MessagesProjection, Projection, UsersProjection},
    read_to_end, replay,
};
use confab_schemas::{Codec, Event, Topic};
use serde_json::{Value, json};

use crate::{
    cli::{DumpTablesArgs, EventsArgs, RebuildArgs},
    node::{STORE_FILE, open_log, open_store},
};

fn event_json(event: &Event) -> Result<Value, serde_json::Error> {
    match event {
        Event::UserRegistered(e) => serde_json::to_value(e),
        Event::DirectMessageSent(e) => serde_json::to_value(e),
    }
}

/// One JSON line per record: where it is, its headers, and the decoded event.
pub(crate) async fn events(args: EventsArgs) -> anyhow::Result<()> {
    let log = open_log(&args.data.data_dir).await?;
    let codec = Codec::new()?;
    let topics: Vec<&str> = match &args.topic {
        Some(topic) => vec![topic.as_str()],
        None => Topic::ALL.iter().map(|t| t.name()).collect(),
    };
    let mut out = std::io::stdout().lock();
    read_to_end(log.as_ref(), &topics, async |records| {
        for r in records {
            let headers: serde_json::Map<String, Value> = r
                .record
                .headers
                .iter()
                .map(|h| (h.name.clone(), Value::String(String::from_utf8_lossy(&h.value).into_owned())))
                .collect();
            let (event_type, event) = match codec.decode(&r.record.value) {
                Ok(event) => (json!(event.full_name()), event_json(&event).unwrap_or(Value::Null)),
                Err(e) => (Value::Null, json!({ "undecodable": e.to_string(), "base64": STANDARD.encode(&r.record.value) })),
            };
            let line = json!({
                "topic": r.position.topic,
                "partition": r.position.partition,
                "offset": r.position.offset,
                "key": String::from_utf8_lossy(&r.record.key),
                "timestampMs": r.record.timestamp_ms,
                "headers": headers,
                "type": event_type,
                "event": event,
            });
            // A closed stdout (e.g. `| head`) ends the export; nothing to recover.
            if writeln!(out, "{line}").is_err() {
                break;
            }
        }
        Ok(())
    })
    .await?;
    Ok(())
}

pub(crate) async fn rebuild(args: RebuildArgs) -> anyhow::Result<()> {
    if args.into.join(STORE_FILE).exists() {
        bail!(
            "{} already holds read models; rebuild needs an empty directory",
            args.into.display()
        );
    }
    std::fs::create_dir_all(&args.into)
        .with_context(|| format!("cannot create {}", args.into.display()))?;
    let log = open_log(&args.data.data_dir).await?;
    let store = open_store(&args.into).await?;
    let codec = Codec::new()?;
    let projections: [Arc<dyn Projection>; 2] = [
        Arc::new(UsersProjection::new(Arc::new(store.clone()))),
        Arc::new(MessagesProjection::new(Arc::new(store))),
    ];
    for projection in projections {
        let applied = replay(log.as_ref(), &codec, projection.as_ref()).await?;
        tracing::info!(projection = projection.name(), applied, "replayed");
    }
    Ok(())
}

pub(crate) async fn dump_tables(args: DumpTablesArgs) -> anyhow::Result<()> {
    let store = open_store(&args.dir).await?;
    let dump = tokio::task::spawn_blocking(move || store.dump()).await??;
    println!("{}", serde_json::to_string_pretty(&dump)?);
    Ok(())
}
