/// Declares an event type: the envelope every event shares (`eventId`, `occurredAt`, `actorId`)
/// around its own payload record.
macro_rules! envelope {
    ($(#[$doc:meta])* $name:ident($payload:ident)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, apache_avro::AvroSchema)]
        #[avro(namespace = "io.confab.events")]
        pub struct $name {
            /// UUID v7, unique per event.
            #[serde(rename = "eventId")]
            #[avro(rename = "eventId")]
            pub event_id: String,
            /// Milliseconds since the Unix epoch.
            #[serde(rename = "occurredAt")]
            #[avro(rename = "occurredAt")]
            pub occurred_at: i64,
            /// The user whose request this was.
            #[serde(rename = "actorId")]
            #[avro(rename = "actorId")]
            pub actor_id: String,
            pub payload: $payload,
        }
    };
}

pub(crate) use envelope;
