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

/// A bulk load (`chronorag ingest`) opens the embedded store with a 64 MiB page cache unless the
/// configuration sets one; other commands keep the 256 MiB default.
#[test]
fn a_bulk_ingest_uses_a_smaller_store_cache_unless_one_is_configured() {
    let dir = tmp();
    let doc = dir.path().join("a.txt");
    std::fs::write(&doc, "In 2023 Acme Corp opened a plant in Lyon.").unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "store_cache_mb = 128\n").unwrap();
    let opened_with = |args: &[&str], config: Option<&std::path::Path>| -> String {
        let mut c = Command::new(bin());
        c.env("CHRONORAG_LOG", "chronorag=debug")
            .arg("--data")
            .arg(dir.path().join("data"));
        if let Some(p) = config {
            c.arg("--config").arg(p);
        }
        let out = c.args(args).output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{log}");
        let line = log
            .lines()
            .find(|l| l.contains("embedded store opened"))
            .unwrap_or_else(|| panic!("no store opened in {log}"));
        // Without the terminal colours the log may carry.
        let mut plain = String::new();
        let mut in_escape = false;
        for c in line.chars() {
            match (in_escape, c) {
                (false, '\u{1b}') => in_escape = true,
                (true, 'm') => in_escape = false,
                (false, c) => plain.push(c),
                (true, _) => {}
            }
        }
        plain
    };
    let ingest = ["ingest", doc.to_str().unwrap()];
    for (args, config, mb) in [
        (&ingest[..], None, 64),
        (&ingest[..], Some(config.as_path()), 128),
        (&["stats"][..], None, 256),
    ] {
        let line = opened_with(args, config);
        assert!(line.contains(&format!("cache_mb={mb}")), "{args:?}: {line}");
    }
}

/// `chronorag ingest` says what the load's contradictions did: older facts ended by newer
/// ones, and conflicts left for review (here a restated figure for the same quarter).
#[test]
fn a_bulk_ingest_reports_its_contradictions() {
    let dir = tmp();
    let docs = dir.path().join("docs.jsonl");
    std::fs::write(
        &docs,
        concat!(
            r#"{"id":"a","time":"2023-10-01","text":"In Q3 2023, Acme Corp reported revenue of $4.2 billion."}"#,
            "\n",
            r#"{"id":"b","time":"2023-11-01","text":"In Q3 2023, Acme Corp reported revenue of $4.4 billion."}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = run(dir.path(), &["ingest", docs.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("contradictions: conflicts to review 1 (`chronorag conflicts`), older facts ended by newer ones 0"),
        "{stdout}"
    );
    // A load without contradictions does not mention them.
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "In 2023 Beta Corp opened a plant in Lyon.").unwrap();
    let out = run(dir.path(), &["ingest", other.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("contradictions"));
}
