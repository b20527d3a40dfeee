//! `append_claimed` on Kafka: claim in the [`ClaimStore`] first, then produce, then settle.
use crate::{Claim, ClaimedAppend, EventLog, LogError, PendingAppend, Record, kafka::KafkaLog};

pub(crate) async fn append_claimed(
    log: &KafkaLog,
    topic: &str,
    claim: Claim,
    record: Record,
    now_ms: i64,
) -> Result<ClaimedAppend, LogError> {
    let pending = PendingAppend { topic: topic.to_owned(), record };
    match log.claims.try_claim(&claim, &pending, now_ms).await? {
        None => match log.append(topic, pending.record).await {
            Ok(position) => {
                if let Err(error) = log.claims.settle(&claim.scope, &claim.key).await {
                    // The record is on the log; an unsettled claim is only re-appended later,
                    // which consumers deduplicate.
                    tracing::warn!(scope = %claim.scope, key = %claim.key, %error, "cannot settle claim");
                }
                Ok(ClaimedAppend::Appended(position))
            }
            // Perhaps on the log: freeing the claim would let a retry append a second record
            // under another id. The retry finishes this one instead.
            Err(append_error @ LogError::Ambiguous(_)) => {
                if let Err(error) = log.claims.abandon(&claim.scope, &claim.key).await {
                    tracing::warn!(scope = %claim.scope, key = %claim.key, %error, "cannot mark a claim abandoned");
                }
                Err(append_error)
            }
            Err(append_error) => {
                if let Err(error) = log.claims.release(&claim.scope, &claim.key).await {
                    tracing::warn!(scope = %claim.scope, key = %claim.key, %error, "cannot release claim");
                }
                Err(append_error)
            }
        },
        Some(held) => {
            let mut finished = None;
            if let Some(orphan) =
                held.pending.filter(|_| now_ms - held.claimed_at_ms > log.orphan_after().as_millis() as i64)
            {
                // Its claimer died between claim and append, or its append timed out: finish it
                // (a record appended twice is one record to consumers, which deduplicate).
                tracing::warn!(scope = %claim.scope, key = %claim.key, "finishing an orphaned claimed append");
                finished = Some(log.append(&orphan.topic, orphan.record).await?);
                log.claims.settle(&claim.scope, &claim.key).await?;
            }
            Ok(ClaimedAppend::Taken { value: held.value, finished })
        }
    }
}
