//! The analytics consumer: numbers checked against a scripted history whose true counts are
//! known, served to admins only, printed by `confab analytics report`, and the same after a
//! replay from offset 0 (`confab offsets reset`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use confab_e2e::{Backend, Client, Confab, Deployment, User, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Bytes of the one attachment the history shares.
const PHOTO_BYTES: usize = 1234;

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Registers four users and has them talk: 6 direct messages (one with a photo), a group of
/// alice, bob and carol with 4 messages, then dave added and carol removed.
async fn scripted_history(client: &Client) -> (User, User) {
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    let _carol = client.user("carol").await;
    let _dave = client.user("dave").await;
    for i in 0..3 {
        assert_eq!(client.send(&alice, "bob", &format!("a{i}")).await.status, StatusCode::OK);
    }
    for i in 0..2 {
        assert_eq!(client.send(&bob, "alice", &format!("b{i}")).await.status, StatusCode::OK);
    }
    let group = client.group(&alice, "numbers", &["bob", "carol"]).await;
    for (i, from) in [&alice, &alice, &bob, &bob].into_iter().enumerate() {
        assert_eq!(client.group_send(from, &group, &format!("g{i}")).await.status, StatusCode::OK);
    }
    assert_eq!(client.add_member(&alice, &group, "dave").await.status, StatusCode::OK);
    let removed = client.delete(&format!("/groups/{group}/members/carol"), Some(&alice.token)).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let photo = client.attachment(&alice, json!({ "recipient": "bob" }), &vec![7u8; PHOTO_BYTES]).await;
    let body = json!({ "recipient": "bob", "attachments": [photo] });
    assert_eq!(client.post("/chat/send", Some(&alice.token), body).await.status, StatusCode::OK);
    (alice, bob)
}

/// What the scripted history must add up to, with `direct` direct messages.
fn matches_script(summary: &Value, direct: i64) -> bool {
    summary["messages"]["direct"] == direct
        && summary["messages"]["group"] == 4
        && summary["registrations"]["total"] == 4
        && summary["groups"]["created"] == 1
        && summary["groups"]["sizes"] == json!([{ "members": 3, "groups": 1 }])
        && summary["attachments"] == json!([{ "contentType": "image/png", "count": 1, "bytes": PHOTO_BYTES }])
}

/// Polls the summary until `done` holds: the analytics consumer is not read-your-writes.
async fn summary_when(client: &Client, admin: &User, query: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = client.get(&format!("/analytics/summary{query}"), Some(&admin.token)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        if done(&reply.body) {
            return reply.body;
        }
        assert!(Instant::now() < deadline, "the summary never got there: {}", reply.body);
        // A poll interval: the loop ends on the condition.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn analytics_count_a_scripted_history_for_admins(backend: Backend) {
    let mut deployment = Deployment::new(backend);
    let day = today();
    let (mut server, client, (alice, bob)) = history_then_admin(&mut deployment, "Alice,mallory").await;
    let query = format!("?from={day}&to={}", today());
    let summary = summary_when(&client, &alice, &query, |s| matches_script(s, 6)).await;
    if today() == day {
        // The history did not straddle midnight (UTC): one day, one hour or two.
        assert_eq!(summary["messages"]["perDay"], json!([{ "period": day, "direct": 6, "group": 4 }]));
        assert_eq!(summary["activeUsers"]["daily"], json!([{ "period": day, "count": 4 }]));
        assert_eq!(summary["registrations"]["perDay"], json!([{ "period": day, "count": 4 }]));
        let hours: i64 =
            summary["messages"]["perHour"].as_array().unwrap().iter().map(|h| h["direct"].as_i64().unwrap()).sum();
        assert_eq!(hours, 6);
    }

    // Admins only; dates are checked.
    let forbidden = client.get("/analytics/summary", Some(&bob.token)).await;
    assert_eq!((forbidden.status, forbidden.error_code()), (StatusCode::FORBIDDEN, "not_an_admin"));
    assert_eq!(client.get("/analytics/summary", None).await.status, StatusCode::UNAUTHORIZED);
    for bad in ["?from=yesterday", "?from=2026-12-02&to=2026-12-01", "?from=2020-01-01&to=2026-01-01"] {
        let reply = client.get(&format!("/analytics/summary{bad}"), Some(&alice.token)).await;
        assert_eq!((reply.status, reply.error_code()), (StatusCode::BAD_REQUEST, "invalid_range"), "{bad}");
    }
    let default_range = client.get("/analytics/summary", Some(&alice.token)).await;
    assert_eq!(default_range.body["to"], today());

    // The report command prints the same numbers.
    server.stop();
    let output = deployment.run(&["analytics", "report", "--from", &day, "--to", summary["to"].as_str().unwrap()]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report, summary);

    // An admin name nobody had registered when the process started grants nothing.
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    let mallory = client.user("mallory").await;
    let refused = client.get("/analytics/summary", Some(&mallory.token)).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "not_an_admin"));
    assert_eq!(client.get("/analytics/summary", Some(&alice.token)).await.status, StatusCode::OK);
}

/// The scripted history on a server without admins, then that server replaced by one whose
/// `--admins` is `admins`: a name is an admin only if its account exists when the process starts.
async fn history_then_admin(deployment: &mut Deployment, admins: &str) -> (Confab, Client, (User, User)) {
    let mut first = deployment.serve();
    let users = scripted_history(&Client::new(&first.base_url)).await;
    first.stop();
    let _ = deployment.env("CONFAB_ADMINS", admins);
    let server = deployment.serve();
    let client = Client::new(&server.base_url);
    (server, client, users)
}

/// `events tail` output: (topic/partition) -> the end offset, for knowing when a consumer has
/// read everything.
fn ends(deployment: &Deployment) -> HashMap<String, u64> {
    let mut ends = HashMap::new();
    for topic in ["confab.users", "confab.messages", "confab.groups"] {
        for record in deployment.events(topic) {
            let key = format!("{}/{}", record["topic"].as_str().unwrap(), record["partition"]);
            let next = record["offset"].as_u64().unwrap() + 1;
            let end = ends.entry(key).or_insert(0);
            *end = next.max(*end);
        }
    }
    ends
}

/// Polls `/readyz` at `base_url` until the analytics consumer has applied up to `ends`.
async fn analytics_caught_up(base_url: &str, ends: &HashMap<String, u64>) {
    let client = Client::new(base_url);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = client.readiness().await;
        let applied = &ready.body["projections"]["analytics"]["applied"];
        if ends.iter().all(|(key, end)| applied[key].as_u64() == Some(*end)) {
            return;
        }
        assert!(Instant::now() < deadline, "analytics never caught up: {applied} vs {ends:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Embedded: with its state gone and its offsets reset to 0, the analytics consumer reads the
/// whole log again and reaches the same numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analytics_replayed_from_offset_zero_reach_the_same_numbers() {
    let mut deployment = Deployment::new(Backend::Embedded);
    let (mut server, client, (alice, _)) = history_then_admin(&mut deployment, "alice").await;
    let before = summary_when(&client, &alice, "", |s| matches_script(s, 6)).await;
    server.stop();

    reset_by_time_resumes_at_the_first_record_stamped_then(&deployment, "confab.projector.messages");
    exact_reset_moves_only_the_named_partition(&deployment, "confab.projector.messages");
    let _ = deployment.run(&["offsets", "reset", "confab.projector.messages", "--to", "latest"]);

    std::fs::remove_file(deployment.data_dir().join("analytics.redb")).unwrap();
    let reset = deployment.run(&["offsets", "reset", "confab.projector.analytics", "--to", "earliest"]);
    let reset: Value = serde_json::from_slice(&reset.stdout).unwrap();
    assert!(reset["offsets"].as_array().unwrap().iter().all(|o| o["offset"] == 0), "{reset}");
    let ends = ends(&deployment);
    server.start_again();
    analytics_caught_up(&server.base_url, &ends).await;
    // The same signing secret: alice's token still works.
    let client = Client::new(&server.base_url);
    assert_eq!(client.get("/analytics/summary", Some(&alice.token)).await.body, before);
}

/// Kafka: resetting to `latest` skips what came while the consumer was stopped; resetting to
/// `earliest` replays everything and changes no number: the state remembers how far it has
/// counted each partition, so nothing is counted twice and what was skipped stays skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offsets_reset_skips_or_replays_without_double_counting() {
    let Some(backend) = Backend::kafka_dynamodb("offsets_reset_skips_or_replays_without_double_counting") else {
        return;
    };
    let mut deployment = Deployment::new(backend);
    let _workers = deployment.consume();
    let mut first = deployment.api();
    let mut analytics = deployment.analytics();
    let _ = Client::new(&first.base_url).ready().await;
    let (alice, _) = scripted_history(&Client::new(&first.base_url)).await;
    first.stop();
    let _ = deployment.env("CONFAB_ADMINS", "alice");
    let api = deployment.api();
    let client = Client::new(&api.base_url);
    let _ = summary_when(&client, &alice, "", |s| matches_script(s, 6)).await;

    // Stopped, three messages go by; reset to latest skips them.
    analytics.stop();
    for i in 0..3 {
        assert_eq!(client.send(&alice, "bob", &format!("skipped {i}")).await.status, StatusCode::OK);
    }
    let _ = deployment.run(&["offsets", "reset", "confab.projector.analytics", "--to", "latest"]);
    analytics.start_again();
    // Same conversation, so same partition: were the three not skipped, they would come first.
    assert_eq!(client.send(&alice, "bob", "counted").await.status, StatusCode::OK);
    let _ = summary_when(&client, &alice, "", |s| s["messages"]["direct"] == 7).await;
    analytics_caught_up(&analytics.base_url, &end_of_last_message(&deployment)).await;
    let after_skip = client.get("/analytics/summary", Some(&alice.token)).await.body;
    assert!(matches_script(&after_skip, 7), "{after_skip}");

    // A time, with the consumer stopped: checked, then undone by the reset to earliest below.
    analytics.stop();
    reset_by_time_resumes_at_the_first_record_stamped_then(&deployment, "confab.projector.analytics");
    exact_reset_moves_only_the_named_partition(&deployment, "confab.projector.analytics");

    // Reset to earliest: every record read again (the consumer's progress says so), no number
    // moves.
    let reset = deployment.run(&["offsets", "reset", "confab.projector.analytics", "--to", "earliest"]);
    let reset: Value = serde_json::from_slice(&reset.stdout).unwrap();
    assert!(reset["offsets"].as_array().unwrap().iter().all(|o| o["offset"] == 0), "{reset}");
    analytics.start_again();
    analytics_caught_up(&analytics.base_url, &ends(&deployment)).await;
    let replayed = client.get("/analytics/summary", Some(&alice.token)).await.body;
    assert_eq!(replayed, after_skip);
}

/// The end of the partition holding the newest message: after a reset to latest, the only one
/// the consumer has read anything of.
fn end_of_last_message(deployment: &Deployment) -> HashMap<String, u64> {
    let messages = deployment.events("confab.messages");
    let last = messages.iter().max_by_key(|r| r["timestampMs"].as_i64().unwrap()).unwrap();
    let key = format!("confab.messages/{}", last["partition"]);
    HashMap::from([(key, last["offset"].as_u64().unwrap() + 1)])
}

/// `offsets reset GROUP --to <time>`: each `confab.messages` partition resumes at its first
/// record stamped at or after the time, or at its end. Leaves the group there.
fn reset_by_time_resumes_at_the_first_record_stamped_then(deployment: &Deployment, group: &str) {
    let messages = deployment.events("confab.messages");
    let mut stamps: Vec<i64> = messages.iter().map(|r| r["timestampMs"].as_i64().unwrap()).collect();
    stamps.sort_unstable();
    let at = stamps[stamps.len() / 2];
    let args = ["offsets", "reset", group, "--to", &at.to_string(), "--topic", "confab.messages"];
    let by_time: Value = serde_json::from_slice(&deployment.run(&args).stdout).unwrap();
    for set in by_time["offsets"].as_array().unwrap() {
        let partition: Vec<&Value> = messages.iter().filter(|r| r["partition"] == set["partition"]).collect();
        let end = partition.iter().map(|r| r["offset"].as_u64().unwrap() + 1).max().unwrap_or(0);
        let first =
            partition.iter().find(|r| r["timestampMs"].as_i64().unwrap() >= at).map(|r| r["offset"].as_u64().unwrap());
        assert_eq!(set["offset"].as_u64(), Some(first.unwrap_or(end)), "{set}");
    }
    let shown = show_offsets(deployment, group);
    for set in by_time["offsets"].as_array().unwrap() {
        assert_eq!(shown[&(set["partition"].as_u64().unwrap())]["committed"], set["offset"], "committed as reset");
    }
}

/// `offsets show GROUP --topic confab.messages`, by partition.
fn show_offsets(deployment: &Deployment, group: &str) -> HashMap<u64, Value> {
    let args = ["offsets", "show", group, "--topic", "confab.messages"];
    let shown: Value = serde_json::from_slice(&deployment.run(&args).stdout).unwrap();
    let lags: u64 = shown["offsets"].as_array().unwrap().iter().map(|o| o["lag"].as_u64().unwrap()).sum();
    assert_eq!(shown["lag"], lags, "{shown}");
    shown["offsets"].as_array().unwrap().iter().map(|o| (o["partition"].as_u64().unwrap(), o.clone())).collect()
}

/// `offsets reset GROUP --to TOPIC/PARTITION@OFFSET`: that partition moves, the others stay;
/// positions outside the log are refused.
fn exact_reset_moves_only_the_named_partition(deployment: &Deployment, group: &str) {
    let before = show_offsets(deployment, group);
    let (&partition, _) = before.iter().find(|(_, o)| o["end"].as_u64().unwrap() >= 2).expect("a partition of 2");
    let to = format!("confab.messages/{partition}@1");
    let _ = deployment.run(&["offsets", "reset", group, "--to", &to]);
    let after = show_offsets(deployment, group);
    for (p, offsets) in &after {
        let expected = if *p == partition { json!(1) } else { before[p]["committed"].clone() };
        assert_eq!(offsets["committed"], expected, "partition {p}");
        assert_eq!(offsets["lag"], offsets["end"].as_u64().unwrap() - offsets["committed"].as_u64().unwrap_or(0));
    }
    let end = after[&partition]["end"].as_u64().unwrap();
    for (bad, why) in [
        ("confab.messages/99@0".to_owned(), "no partition 99"),
        (format!("confab.messages/{partition}@{}", end + 1), "past"),
        ("confab.attachments/0@0".to_owned(), "does not read"),
        ("confab.messages@3".to_owned(), "TOPIC/PARTITION@OFFSET"),
    ] {
        let output = deployment.command(&["offsets", "reset", group, "--to", &bad]).output().unwrap();
        assert!(!output.status.success(), "{bad} was not refused");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(why),
            "{bad}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(show_offsets(deployment, group), after, "refused resets move nothing");
}

backend_tests!(analytics_count_a_scripted_history_for_admins);
