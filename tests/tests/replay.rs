//! `confab replay`: blue/green into a new generation of read models that equals the live one and
//! takes over without losing what came during the switch; `--in-place` changes nothing that was
//! right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use confab_e2e::{Backend, Client, Deployment, backend_tests};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn replay(deployment: &Deployment, args: &[&str]) -> Value {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    serde_json::from_slice(&deployment.run(&all).stdout).unwrap()
}

fn generations(deployment: &Deployment, args: &[&str]) -> Value {
    let mut all = vec!["generations"];
    all.extend_from_slice(args);
    serde_json::from_slice(&deployment.run(&all).stdout).unwrap()
}

/// `confab generations drop N`, expected to be refused; what it says.
fn refused_drop(deployment: &Deployment, generation: &str) -> String {
    let output = deployment.command(&["generations", "drop", generation]).output().unwrap();
    assert!(!output.status.success(), "dropping generation {generation} was not refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn blue_green_replay_equals_the_live_tables_and_takes_over(backend: Backend) {
    let deployment = Deployment::new(backend);
    let mut server = deployment.serve();
    let client = Client::new(&server.base_url);
    let alice = client.user("alice").await;
    let bob = client.user("bob").await;
    for i in 0..12 {
        let (from, to) = if i % 3 == 0 { (&bob, "alice") } else { (&alice, "bob") };
        assert_eq!(client.send(from, to, &format!("m{i}")).await.status, StatusCode::OK);
    }
    // Edits and deletes: each message's changes replay in the same order, to the same rows and
    // the same copies in the conversation lists.
    let last = client.send(&alice, "bob", "the last, with a typo").await.body["messageId"].as_str().unwrap().to_owned();
    let fixed =
        client.patch(&format!("/chat/messages/{last}"), Some(&alice.token), json!({ "message": "the last" })).await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.body);
    let history = client.full_history(&bob, "alice").await;
    let first = history[0]["messageId"].as_str().unwrap().to_owned();
    let sender = if history[0]["senderId"] == bob.id.as_str() { &bob } else { &alice };
    assert_eq!(
        client.delete(&format!("/chat/messages/{first}"), Some(&sender.token)).await.status,
        StatusCode::NO_CONTENT
    );
    let group = client.group(&alice, "replayed", &["bob"]).await;
    // A mention: indexed for the mentioned, counted from their seen watermark, replayed alike.
    let said = client
        .post(&format!("/groups/{group}/send"), Some(&bob.token), json!({ "message": "in the group, @alice" }))
        .await;
    let said = said.body["messageId"].as_str().unwrap().to_owned();
    let path = format!("/groups/{group}/messages/{said}");
    assert_eq!(
        client.patch(&path, Some(&bob.token), json!({ "message": "in the group!" })).await.status,
        StatusCode::OK
    );
    // Taken back with its file: the file is withdrawn in the replay too, whichever of the
    // messages projection and the attachment indexer gets there first.
    let withdrawn = client.attachment(&bob, json!({ "groupId": group }), b"taken back").await;
    let body = json!({ "message": "taken back", "attachments": [withdrawn] });
    let taken_back = client.post(&format!("/groups/{group}/send"), Some(&bob.token), body).await;
    let taken_back = taken_back.body["messageId"].as_str().unwrap().to_owned();
    let path = format!("/groups/{group}/messages/{taken_back}");
    assert_eq!(client.delete(&path, Some(&alice.token)).await.status, StatusCode::NO_CONTENT);
    let pin = client.put(&format!("/groups/{group}/messages/{said}/pin"), Some(&alice.token), json!(null)).await;
    assert_eq!(pin.status, StatusCode::NO_CONTENT, "{}", pin.body);
    let photo = client.attachment(&alice, json!({ "groupId": group }), b"group photo").await;
    let body = json!({ "attachments": [photo] });
    assert_eq!(client.post(&format!("/groups/{group}/send"), Some(&alice.token), body).await.status, StatusCode::OK);
    // A member added late and removed again: the marks that place both in the group's message
    // order, and the groups projection's verdicts on both, are replayed like everything else.
    let carol = client.user("carol").await;
    assert_eq!(client.add_member(&alice, &group, "carol").await.status, StatusCode::OK);
    assert_eq!(client.group_send(&carol, &group, "carol was here").await.status, StatusCode::OK);
    let removed = client.delete(&format!("/groups/{group}/members/carol"), Some(&alice.token)).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    // The embedded read models belong to the server process: stop it. On Kafka the replay runs
    // beside the live processes.
    if deployment.is_embedded() {
        server.stop();
    }
    let before = deployment.tables();
    let replayed = replay(&deployment, &["--all"]);
    assert_eq!((replayed["mode"].as_str(), replayed["generation"].as_u64()), (Some("blue-green"), Some(1)));
    assert_eq!(replayed["previous"], 0);
    assert_eq!(deployment.tables(), before, "generation 1 holds what generation 0 did");

    // Sent after the switch, before the processes restart: the old generation's workers apply
    // it there, generation 1's groups carry on from where the replay stopped and apply it too.
    if !deployment.is_embedded() {
        assert_eq!(client.send(&alice, "bob", "during the switch").await.status, StatusCode::OK);
        server.stop();
    }
    server.start_again();
    let client = Client::new(&server.base_url);
    let _ = client.ready().await;
    assert_eq!(client.send(&bob, "alice", "after the switch").await.status, StatusCode::OK);
    let history = client.full_history(&alice, "bob").await;
    let last: Vec<&str> = history.iter().rev().take(2).map(|m| m["content"].as_str().unwrap()).collect();
    let expected = if deployment.is_embedded() { 14 } else { 15 };
    assert_eq!(history.len(), expected, "nothing lost, nothing twice");
    assert_eq!(last[0], "after the switch");
    let group_history = client.group_history(&bob, &group).await;
    assert_eq!(group_history[2]["attachments"][0]["attachmentId"], photo.as_str());
    assert_eq!(client.download(&bob, &photo).await, b"group photo");

    // In place: the live generation, re-applied, is unchanged.
    server.stop();
    let live = deployment.tables();
    let in_place = replay(&deployment, &["messages", "groups", "--in-place"]);
    assert_eq!((in_place["mode"].as_str(), in_place["generation"].as_u64()), (Some("in-place"), Some(1)));
    assert_eq!(in_place["projections"], json!(["messages", "groups"]));
    assert_eq!(deployment.tables(), live);

    // The replaced generation stays until dropped; the live one, and newer ones a replay may
    // be building, cannot be.
    assert_eq!(generations(&deployment, &["list"]), json!({ "live": 1, "generations": [0, 1] }));
    assert!(refused_drop(&deployment, "1").contains("live"));
    assert!(refused_drop(&deployment, "2").contains("newer"));
    let committed = |group: &str| -> Vec<Value> {
        let shown: Value = serde_json::from_slice(&deployment.run(&["offsets", "show", group]).stdout).unwrap();
        shown["offsets"].as_array().unwrap().iter().map(|o| o["committed"].clone()).collect()
    };
    assert!(committed("confab.projector.messages").iter().any(|c| !c.is_null()), "generation 0's group read");
    let dropped = generations(&deployment, &["drop", "0"]);
    assert_eq!((dropped["dropped"].as_u64(), dropped["live"].as_u64()), (Some(0), Some(1)));
    assert_eq!(dropped["groups"][1], "confab.projector.messages");
    assert!(committed("confab.projector.messages").iter().all(Value::is_null), "its groups are gone");
    assert!(committed("confab.projector.messages.g1").iter().any(|c| !c.is_null()), "the live ones stay");
    assert_eq!(generations(&deployment, &["list"]), json!({ "live": 1, "generations": [1] }));
    assert!(refused_drop(&deployment, "0").contains("no generation"));
    assert_eq!(deployment.tables(), live, "the live generation is untouched");
    server.start_again();
    let client = Client::new(&server.base_url);
    assert_eq!(client.full_history(&alice, "bob").await.len(), expected);
}

/// Kafka: running `api` and `consume` processes follow the generation pointer and move to the
/// new generation without a restart: reads at once, writes as the new generation's groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn running_processes_move_to_the_new_generation_without_a_restart() {
    use std::time::{Duration, Instant};
    let Some(backend) = Backend::kafka_dynamodb("running_processes_move_to_the_new_generation") else { return };
    let deployment = Deployment::new(backend);
    let workers = deployment.consume();
    let api = deployment.api();
    let client = Client::new(&api.base_url);
    let _ = client.ready().await;
    let alice = client.user("alice").await;
    let _bob = client.user("bob").await;
    for i in 0..5 {
        assert_eq!(client.send(&alice, "bob", &format!("before {i}")).await.status, StatusCode::OK);
    }
    let replayed = replay(&deployment, &["--all"]);
    assert_eq!(replayed["generation"], 1);

    // Both processes report the generation they use.
    for base_url in [&api.base_url, &workers.base_url] {
        let health = Client::new(base_url);
        let deadline = Instant::now() + Duration::from_secs(30);
        while health.readiness().await.body["generation"] != 1 {
            assert!(Instant::now() < deadline, "{base_url} never moved to generation 1");
            // A poll interval: the loop ends on the condition.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Written now, it lands in generation 1 (read back at once, and in its tables).
    let sent = client.send(&alice, "bob", "after the move").await;
    assert_eq!(sent.status, StatusCode::OK);
    let history = client.full_history(&alice, "bob").await;
    assert_eq!(history.len(), 6);
    assert_eq!(history[5]["content"], "after the move");
    let tables = deployment.tables().to_string();
    assert!(tables.contains(sent.body["messageId"].as_str().unwrap()), "generation 1 has the new message");
}

backend_tests!(blue_green_replay_equals_the_live_tables_and_takes_over);
