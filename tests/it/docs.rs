//! The user documentation, checked: `chronorag.example.toml` is exactly the built-in defaults and
//! names every configuration key, docs/CONFIGURATION.md documents every key, and the HTTP
//! walkthrough of docs/HTTP.md runs as written against a real server.

use std::path::Path;

use chronorag::Config;

use crate::support::{Server, tmp};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The first ```sh block after `marker`.
fn script_after(doc: &str, marker: &str) -> String {
    let start = doc
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} is missing"));
    let block = &doc[start..];
    let code_start = block.find("```sh\n").expect("code block") + 6;
    let code_end = block[code_start..].find("```").unwrap() + code_start;
    block[code_start..code_end].to_string()
}

/// `(section, key)` for every key of the default config; `section` is "" at the top level.
fn config_keys() -> Vec<(String, String)> {
    let v = serde_json::to_value(Config::default()).unwrap();
    let mut out = Vec::new();
    for (k, val) in v.as_object().unwrap() {
        match val.as_object() {
            Some(section) => {
                for sk in section.keys() {
                    out.push((k.clone(), sk.clone()));
                }
            }
            None => out.push((String::new(), k.clone())),
        }
    }
    // Secrets are not serialised; they are keys all the same.
    for section in ["llm", "openai_embed"] {
        if !out.contains(&(section.into(), "api_key".into())) {
            out.push((section.into(), "api_key".into()));
        }
    }
    out
}

/// The lines of one section of a TOML file ("" = before the first table header).
fn section_lines<'a>(toml: &'a str, section: &str) -> Vec<&'a str> {
    let mut current = String::new();
    let mut lines = Vec::new();
    for line in toml.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            current = t.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        if current == section {
            lines.push(t);
        }
    }
    lines
}

#[test]
fn the_example_config_is_the_defaults() {
    let path = Path::new(ROOT).join("chronorag.example.toml");
    let cfg = Config::from_file(&path).expect("chronorag.example.toml parses");
    assert_eq!(
        cfg,
        Config::default(),
        "chronorag.example.toml no longer matches Config::default(): update the file"
    );
}

#[test]
fn every_config_key_is_in_the_example_and_documented() {
    let example = read("chronorag.example.toml");
    let doc = read("docs/CONFIGURATION.md");
    let keys = config_keys();
    assert!(keys.len() >= 25, "{keys:?}");
    for (section, key) in &keys {
        let lines = section_lines(&example, section);
        let set = lines.iter().any(|l| {
            l.trim_start_matches('#')
                .trim_start()
                .starts_with(&format!("{key} ="))
        });
        assert!(
            set,
            "chronorag.example.toml has no `{key} =` (set or commented out) in [{section}]"
        );
        let i = lines
            .iter()
            .position(|l| {
                l.trim_start_matches('#')
                    .trim_start()
                    .starts_with(&format!("{key} ="))
            })
            .unwrap();
        assert!(
            i > 0 && lines[i - 1].starts_with('#'),
            "chronorag.example.toml: `{key}` in [{section}] has no comment above it"
        );
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/CONFIGURATION.md does not document `{key}` ([{section}])"
        );
    }
}

/// docs/HTTP.md's walkthrough, run as written (with bash -euo pipefail) against a real server.
#[test]
fn the_http_walkthrough_runs_as_written() {
    let doc = read("docs/HTTP.md");
    let script = script_after(&doc, "<!-- walkthrough:http -->");
    for tool in ["jq ", "python"] {
        assert!(
            !script.contains(tool),
            "the walkthrough must need only curl and a POSIX shell, not {tool:?}"
        );
    }
    let s = Server::start(&[], None);
    let dir = tmp();
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("CHRONORAG_URL", &s.url)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed:\n{stdout}\n{stderr}"
    );
    for expected in [
        // Ingest report.
        r#""document_ids":["acme-2023-q2","acme-2023-q3","acme-2024-q1"]"#,
        // The question's scope and the cited context.
        r#""keys":["2023-Q3"]"#,
        r#""facets":[{"period":0,"label":"2023-Q3","passages":1,"evidence":true}]"#,
        "[acme-2023-q3 · 2023-Q3] Acme Q3 2023 results",
        r#""description":"In Q3 2023, Acme Corp reported revenue of $4.4 billion.""#,
        // The explicit scope.
        r#""intervals":[{"start":"2023-07-01","end":"2025-01-01"}]"#,
        // Hand edits, history, the past and undo.
        r#""type":"correct""#,
        "facts retracted (1):",
        r#""type":"rollback""#,
        // The contradiction, the job, the erase and the audit chain.
        r#""slot":"acme corp reported revenue of #""#,
        r#""state":"done""#,
        r#""document_ids":["acme-2024-q2"]"#,
        r#""summary_versions_scrubbed""#,
        r#""ok":true"#,
        // The error shape and the metrics.
        r#"{"error":{"code":"not_found""#,
        "HTTP 404",
        r#"chronorag_records{namespace="acme",kind="documents"} 4"#,
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // The rollback restored the hand-asserted fact: its last reading is active again.
    let restored = stdout
        .lines()
        .rfind(|l| l.contains(r#""object":"$5.2 billion""#))
        .expect("the fact is read after the rollback");
    assert!(restored.contains(r#""status":"active""#), "{restored}");
}
