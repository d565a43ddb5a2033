//! The command line: help, init, stats, errors.

use std::process::Command;

use crate::support::{bin, tmp};

use crate::support::run_cli as run;

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["init", "stats", "serve", "ingest"] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
    assert!(text.contains("--data"));
}

#[test]
fn openapi_prints_the_checked_in_contract_without_touching_a_store() {
    let dir = tmp();
    let data = dir.path().join("data");
    let out = run(&data, &["openapi"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text == chronorag::api::OPENAPI,
        "`chronorag openapi` differs from schema/openapi.json"
    );
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        !data.exists(),
        "printing the contract created a data folder"
    );
}

#[test]
fn init_then_stats_on_a_fresh_folder_is_truthfully_empty() {
    let dir = tmp();
    let data = dir.path().join("data");
    let out = run(&data, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&data, &["stats", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in ["documents", "chunks", "facts", "entities", "time_nodes"] {
        assert_eq!(v[k], 0, "{k} in {v}");
    }
    assert_eq!(
        v["schema_version"],
        chronorag::store::CURRENT_SCHEMA_VERSION
    );
    assert!(v["namespaces"]["default"].is_object());
    let out = run(&data, &["stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("default") && text.contains("documents"),
        "{text}"
    );
}

#[test]
fn stats_without_a_store_says_what_to_do() {
    let dir = tmp();
    let out = run(&dir.path().join("nothing-here"), &["stats"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no ChronoRAG store") && err.contains("init"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_newer_store_is_refused_by_the_cli() {
    let dir = tmp();
    let data = dir.path().join("data");
    assert!(run(&data, &["init"]).status.success());
    chronorag::store::force_version(&data.join("store"), 99).unwrap();
    let out = run(&data, &["stats"]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schema version 99") && err.contains("upgrade"),
        "{err}"
    );
}

#[test]
fn unknown_namespace_and_bad_flags_are_clear_errors() {
    let dir = tmp();
    let data = dir.path().join("data");
    assert!(run(&data, &["init"]).status.success());
    let out = run(&data, &["stats", "--namespace", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"nope\" does not exist"), "{err}");
    let out = run(&data, &["stats", "--namespace", "../etc"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid namespace name"));
    let out = run(&data, &["frobnicate"]);
    assert!(!out.status.success());
}
