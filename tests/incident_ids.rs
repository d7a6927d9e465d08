//! The same logs give the same incident id however often and whenever they are handled
//! (issue 24): the id is derived from the incident's key and its onset on the logs'
//! clock, so a pager's dedup key survives replays and redeploys.

mod common;

use assert_cmd::Command;
use common::repo;

fn incident_ids() -> Vec<String> {
    let out = Command::cargo_bin("apigw-doctor")
        .unwrap()
        .args(["dry-run", "--format", "json"])
        .arg(repo().join("events/timeout-info.json"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["incident_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn two_dry_runs_of_one_incident_give_the_same_id() {
    let first = incident_ids();
    assert!(!first.is_empty());
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(first, incident_ids());
}
