//! `confab events tail`: the stream as JSON lines, for operators and for piping into other tools.
//! Sealed values stay sealed unless `--decrypt` is given and the keys are at hand.
use std::{io::Write, sync::Arc};

use anyhow::Context;
use base64::{Engine, engine::general_purpose::STANDARD};
use confab_consumers::{
    ReplayError, follow,
    projection::{LoggedEvent, direct_message_row, group_message_row, requested_row},
    read_to_end,
};
use confab_eventlog::ConsumedRecord;
use confab_schemas::{Codec, Event, Topic};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use clap::{Args, Subcommand};
use confab_producers::{DataKeys, Keyring, Opener};
use confab_readmodels::{KeyCache, ProfileFields};

use crate::{
    args::BackendArgs,
    backend::{connect, keyring_spec},
    roles::signal,
};

#[derive(Debug, Clone, Args)]
pub(crate) struct EventsArgs {
    #[command(subcommand)]
    pub(crate) command: EventsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum EventsCommand {
    /// Prints events as JSON lines: where each sits, its headers, and the event decoded.
    Tail(TailArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TailArgs {
    #[command(flatten)]
    pub(crate) backend: BackendArgs,
    /// Only this topic, e.g. `confab.messages` (default: every topic).
    #[arg(long)]
    pub(crate) topic: Option<String>,
    /// Start at offset 0 rather than at the end.
    #[arg(long)]
    pub(crate) from_beginning: bool,
    /// Keep printing new events as they are appended, until interrupted; otherwise stop at the
    /// end the log had when the command started.
    #[arg(long)]
    pub(crate) follow: bool,
    /// Open sealed content and file names with the master keys (`--master-keys`, or the data
    /// dir's on the embedded backend).
    #[arg(long)]
    pub(crate) decrypt: bool,
    /// Also print each record's value as it is on the log (base64), for decoding elsewhere.
    #[arg(long)]
    pub(crate) raw: bool,
}

impl EventsArgs {
    pub(crate) async fn run(self) -> anyhow::Result<()> {
        match self.command {
            EventsCommand::Tail(args) => tail(args).await,
        }
    }
}

async fn tail(args: TailArgs) -> anyhow::Result<()> {
    let backend = connect(&args.backend).await?;
    let codec = Codec::new()?;
    let opener = if args.decrypt {
        let spec = keyring_spec(&args.backend, backend.is_embedded())?
            .context("--decrypt needs the master keys: --master-keys or CONFAB_MASTER_KEYS")?;
        let keyring = Arc::new(Keyring::parse(&spec)?);
        let data_keys = DataKeys::new(Arc::clone(&keyring), KeyCache::new(Arc::clone(&backend.data_keys)));
        Some(Opener::new(keyring, data_keys))
    } else {
        None
    };
    let topics: Vec<&str> = match &args.topic {
        Some(topic) => vec![topic.as_str()],
        None => Topic::ALL.iter().map(|t| t.name()).collect(),
    };
    let mut out = std::io::stdout().lock();
    let stop = CancellationToken::new();
    let mut print = async |records: Vec<ConsumedRecord>| -> Result<(), ReplayError> {
        for record in &records {
            let mut line = line(&codec, opener.as_ref(), record).await;
            if args.raw {
                line["value"] = Value::String(STANDARD.encode(&record.record.value));
            }
            // A closed stdout (`| head`) ends the tail; there is nothing to recover.
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                stop.cancel();
                break;
            }
        }
        Ok(())
    };
    match (args.follow, args.from_beginning) {
        (false, true) => read_to_end(backend.log.as_ref(), &topics, &mut print).await?,
        // From the end and not following: the end is where it stops.
        (false, false) => {}
        (true, from_beginning) => {
            let interrupted = stop.clone();
            let _signal = tokio::spawn(async move {
                signal().await;
                interrupted.cancel();
            });
            let started = |_: &[confab_eventlog::ReadStart]| {
                // Scripts (and the tests) wait for this before appending what they expect to see.
                eprintln!("confab tailing");
            };
            follow(backend.log.as_ref(), &topics, from_beginning, stop.clone(), started, &mut print).await?;
        }
    }
    Ok(())
}

/// One record as a JSON line: where it is, its headers, and the decoded event.
async fn line(codec: &Codec, opener: Option<&Opener>, r: &ConsumedRecord) -> Value {
    let headers: serde_json::Map<String, Value> = r
        .record
        .headers
        .iter()
        .map(|h| (h.name.clone(), Value::String(String::from_utf8_lossy(&h.value).into_owned())))
        .collect();
    let (event_type, event) = match codec.decode(&r.record.value) {
        Ok(event) => {
            let mut json = event.to_json().unwrap_or(Value::Null);
            if let Some(opener) = opener {
                let logged = LoggedEvent { event: event.clone(), position: r.position.clone() };
                open_sealed(opener, &logged, &mut json).await;
            }
            (json!(event.full_name()), json)
        }
        Err(e) => (Value::Null, json!({ "undecodable": e.to_string(), "base64": STANDARD.encode(&r.record.value) })),
    };
    json!({
        "topic": r.position.topic,
        "partition": r.position.partition,
        "offset": r.position.offset,
        "key": String::from_utf8_lossy(&r.record.key),
        "timestampMs": r.record.timestamp_ms,
        "headers": headers,
        "type": event_type,
        "event": event,
    })
}

/// Replaces each sealed value of `json` (the event's JSON) by its plaintext, opened as answers
/// open it; one that does not open (another deployment's keys) stays sealed, and one whose
/// writer's account was erased stays sealed beside `"erased": true`: nothing can open it.
async fn open_sealed(opener: &Opener, logged: &LoggedEvent, json: &mut Value) {
    let payload = &mut json["payload"];
    let (content, attachments, deleted) = match &logged.event {
        Event::DirectMessageSent(_) => {
            let Some(row) = direct_message_row(logged) else { return };
            let Ok(o) = opener.direct(row).await else { return };
            (o.content, o.attachments, o.deleted)
        }
        Event::GroupMessageSent(_) => {
            let Some(row) = group_message_row(logged) else { return };
            let Ok(o) = opener.group(row).await else { return };
            (o.content, o.attachments, o.deleted)
        }
        Event::ProfileUpdated(e) => {
            if !e.payload.sealed {
                return;
            }
            match opener.profile(&e.payload.user_id, &ProfileFields::from(&e.payload)).await {
                Ok(Some(texts)) => {
                    payload["displayName"] = json!(texts.display_name);
                    payload["about"] = json!(texts.about);
                }
                Ok(None) => payload["erased"] = Value::Bool(true),
                Err(_) => {}
            }
            return;
        }
        Event::MessageEdited(e) => {
            let Some(changed) = logged.event.changed_message() else { return };
            match opener.edit(&changed, &e.event_id, &e.payload.content).await {
                Ok(Some(text)) => payload["content"] = Value::String(text),
                Ok(None) => payload["erased"] = Value::Bool(true),
                Err(_) => {}
            }
            return;
        }
        Event::AttachmentRequested(e) => {
            match opener.file(requested_row(e)).await {
                Ok(Some(file)) => payload["fileName"] = Value::String(file.file_name),
                Ok(None) => payload["erased"] = Value::Bool(true),
                Err(_) => {}
            }
            return;
        }
        _ => return,
    };
    if deleted {
        payload["erased"] = Value::Bool(true);
        return;
    }
    payload["content"] = Value::String(content);
    if let Some(sealed) = payload["attachments"].as_array_mut() {
        for (field, opened) in sealed.iter_mut().zip(attachments) {
            field["fileName"] = Value::String(opened.file_name);
        }
    }
}
