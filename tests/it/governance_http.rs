//! Governance over HTTP and the CLI: edits, history, diff, rollback, revert, audit, erase,
//! conflicts, with roles; and the README walkthrough, run as written.

use serde_json::json;

use crate::http::keys_file;
use crate::support::{Server, bin, tmp};

fn seed(s: &Server) {
    let docs = json!({"documents": [
        {"id": "q2", "time": "2023-Q2", "text": "In Q2 2023, Acme Corp reported revenue of $4.1 billion. Jane Doe, Chief Executive of Acme Corp, said demand was strong in Berlin."},
        {"id": "q3", "time": "2023-Q3", "text": "In Q3 2023, Acme Corp reported revenue of $4.4 billion. Globex Inc (NASDAQ: GBX) opened a plant in Munich in Q3 2023."},
    ]});
    let r = s.post("/v1/namespaces/acme/documents", &docs);
    assert_eq!(r.status, 200, "{}", r.text);
}

#[test]
fn governance_routes_work_and_check_roles() {
    let dir = tmp();
    let (file, reader, writer, admin) = keys_file(dir.path());
    let mut s = Server::start(&["--auth", file.to_str().unwrap()], None);
    s.key = Some(writer.clone());
    seed(&s);
    // Assert, correct, retract (write role).
    let r = s.post(
        "/v1/namespaces/acme/facts",
        &json!({"facts": [{"subject": "Acme Corp", "object": {"literal": "$4.5 billion"}, "description": "Acme Corp guided Q4 2023 revenue to $4.5 billion", "time": "2023-Q4"}], "reason": "guidance call"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let fid = r.json()["facts"][0].as_u64().unwrap();
    let r = s.request(
        "PATCH",
        &format!("/v1/namespaces/acme/facts/{fid}"),
        Some(("application/json", br#"{"time": "2024-Q1"}"#.to_vec())),
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_request"),
        "a reason is required: {}",
        r.text
    );
    let r = s.request(
        "PATCH",
        &format!("/v1/namespaces/acme/facts/{fid}"),
        Some((
            "application/json",
            br#"{"time": "2024-Q1", "reason": "guidance was for Q1"}"#.to_vec(),
        )),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let corrected = r.json()["fact"].as_u64().unwrap();
    assert_eq!(
        s.get(&format!("/v1/namespaces/acme/facts/{corrected}"))
            .json()["time"],
        "2024-Q1"
    );
    assert_eq!(
        s.get(&format!("/v1/namespaces/acme/facts/{fid}")).json()["status"],
        "retracted"
    );
    let r = s.request(
        "DELETE",
        &format!("/v1/namespaces/acme/facts/{corrected}?reason=withdrawn"),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.request(
            "DELETE",
            &format!("/v1/namespaces/acme/facts/{corrected}?reason=again"),
            None
        )
        .status,
        409
    );
    // Entities: rename and merge.
    let r = s.request(
        "PATCH",
        "/v1/namespaces/acme/entities/GBX",
        Some((
            "application/json",
            br#"{"name": "Globex Corporation", "reason": "official name"}"#.to_vec(),
        )),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.get("/v1/namespaces/acme/entities/Globex%20Inc").json()["name"],
        "Globex Corporation"
    );
    let r = s.post(
        "/v1/namespaces/acme/entities/merge",
        &json!({"into": "Acme Corp", "from": ["Berlin"], "reason": "test"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // History and diff (read role).
    s.key = Some(reader.clone());
    let txs = s.get("/v1/namespaces/acme/transactions?limit=3").json();
    let list = txs["transactions"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["kind"]["type"], "merge_entities");
    assert_eq!(list[0]["actor"], "ingest-bot");
    assert_eq!(
        s.get("/v1/namespaces/acme/transactions/2").json()["kind"]["type"],
        "assert"
    );
    let d = s.get("/v1/namespaces/acme/diff?from_tx=1&to_tx=3").json();
    assert_eq!(d["facts_asserted"][0]["id"], corrected, "{d}");
    let text = s.get("/v1/namespaces/acme/diff?from_tx=1&to_tx=3&format=text");
    assert!(text.text.contains("facts asserted"), "{}", text.text);
    // Undo needs admin.
    let r = s.post("/v1/namespaces/acme/rollback", &json!({"to_tx": 1}));
    assert_eq!(r.status, 403);
    s.key = Some(writer.clone());
    assert_eq!(
        s.post("/v1/namespaces/acme/rollback", &json!({"to_tx": 1}))
            .status,
        403
    );
    assert_eq!(s.get("/v1/namespaces/acme/audit").status, 403);
    s.key = Some(admin.clone());
    let before = s
        .get("/v1/namespaces/acme/facts?as_of_tx=1&limit=1000")
        .json();
    let r = s.post(
        "/v1/namespaces/acme/rollback",
        &json!({"to_tx": 1, "reason": "back to the ingest"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let after = s.get("/v1/namespaces/acme/facts?limit=1000").json();
    let ids = |v: &serde_json::Value| -> Vec<u64> {
        v["facts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(&before),
        ids(&after),
        "after rollback to 1 the facts equal the facts as of 1"
    );
    let rb = r.json()["tx"].as_u64().unwrap();
    let r = s.post(
        "/v1/namespaces/acme/rollback",
        &json!({"revert_tx": rb, "reason": "undo the rollback"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.post(
            "/v1/namespaces/acme/rollback",
            &json!({"to_tx": 1, "revert_tx": 2})
        )
        .status,
        400
    );
    // Audit and verify.
    let audit = s.get("/v1/namespaces/acme/audit").json();
    let entries = audit["entries"].as_array().unwrap();
    assert!(entries.len() >= 7);
    assert_eq!(entries[1]["prev_hash"], entries[0]["hash"]);
    assert_eq!(entries.last().unwrap()["action"], "revert");
    let v = s.get("/v1/audit/verify").json();
    assert_eq!(v["ok"], true, "{v}");
    s.key = Some(writer.clone());
    assert_eq!(s.get("/v1/audit/verify").status, 403);
    // Retract and erase documents.
    let r = s.request(
        "DELETE",
        "/v1/namespaces/acme/documents/q2?reason=superseded",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // `retracted` names what was retracted, as on the fact routes.
    assert_eq!(r.json()["retracted"], "q2");
    assert!(r.json()["tx"].as_u64().is_some());
    assert_eq!(
        s.request(
            "DELETE",
            "/v1/namespaces/acme/documents/q3?erase=true&reason=gdpr",
            None
        )
        .status,
        403,
        "erase needs admin"
    );
    s.key = Some(admin);
    let r = s.request(
        "DELETE",
        "/v1/namespaces/acme/documents/q3?erase=true&reason=gdpr",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["facts"].as_u64().unwrap() >= 1);
    assert_eq!(s.get("/v1/namespaces/acme/documents/q3").status, 404);
    assert_eq!(
        s.request("DELETE", "/v1/namespaces/acme/entities/Jane%20Doe", None)
            .status,
        400,
        "entity deletes must say erase=true"
    );
    let r = s.request(
        "DELETE",
        "/v1/namespaces/acme/entities/Jane%20Doe?erase=true&reason=request",
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.get("/v1/namespaces/acme/conflicts").json()["conflicts"],
        json!([])
    );
    assert_eq!(s.get("/v1/audit/verify").json()["ok"], true);
    s.key = Some(reader);
    assert_eq!(s.get("/v1/namespaces/acme/audit").status, 403);
}

/// The README's governance walkthrough, run as written.
#[test]
fn the_readme_governance_walkthrough_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("<!-- walkthrough:governance -->")
        .expect("walkthrough marker in README");
    let block = &readme[start..];
    let code_start = block.find("```sh\n").expect("code block") + 6;
    let code_end = block[code_start..].find("```").unwrap() + code_start;
    let script = &block[code_start..code_end];
    let dir = tmp();
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env_remove("CHRONORAG_DATA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed:\n{stdout}\n{stderr}"
    );
    for expected in [
        "retracted: transaction",
        "rollback",
        "ok (",
        "erased in transaction",
        "erase",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
