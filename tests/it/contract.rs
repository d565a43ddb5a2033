//! The checked-in contract (`schema/openapi.json`) against what the server sends: every route a
//! client uses is called on a real server with real data, and every JSON body that comes back
//! (successes and errors) must fit the schema documented for its route and status, strictly:
//! a field the schema does not declare fails, as does a missing required field, a wrong type
//! or a value outside an enum. A field added in code without the schema (or the reverse, for
//! required fields) breaks this test, not a client.

use serde_json::{Value, json};

use crate::support::Server;

/// The schemas of `schema/openapi.json`, for checking values against them.
struct Spec {
    doc: Value,
}

impl Spec {
    fn load() -> Spec {
        Spec {
            doc: serde_json::from_str(chronorag::api::OPENAPI).unwrap(),
        }
    }

    fn resolve<'a>(&'a self, mut s: &'a Value) -> &'a Value {
        while let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap();
            s = &self.doc["components"]["schemas"][name];
            assert!(!s.is_null(), "dangling $ref {r}");
        }
        s
    }

    /// The operation documented for `method` and a concrete `path` (query string ignored).
    fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let path = path.split('?').next().unwrap();
        let parts: Vec<&str> = path.split('/').collect();
        self.doc["paths"].as_object()?.iter().find_map(|(t, ops)| {
            let tparts: Vec<&str> = t.split('/').collect();
            let fits = tparts.len() == parts.len()
                && tparts
                    .iter()
                    .zip(&parts)
                    .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')));
            let op = ops.get(method.to_lowercase())?;
            fits.then_some((t.as_str(), op))
        })
    }

    /// Appends to `errs` every way `v` does not fit schema `s`.
    fn check(&self, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        let s = self.resolve(s);
        if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
            // A merge of the parts' properties, checked strictly as one object.
            let mut props = serde_json::Map::new();
            let mut required = Vec::new();
            for p in parts {
                let p = self.resolve(p);
                if let Some(o) = p["properties"].as_object() {
                    props.extend(o.clone());
                }
                if let Some(r) = p["required"].as_array() {
                    required.extend(r.iter().cloned());
                }
            }
            let merged = json!({"type": "object", "properties": props, "required": required});
            return self.check(&merged, v, at, errs);
        }
        if let Some(opts) = s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Value::as_array)
        {
            let mut best: Option<Vec<String>> = None;
            for o in opts {
                let mut e = Vec::new();
                self.check(o, v, at, &mut e);
                if e.is_empty() {
                    return;
                }
                if best.as_ref().is_none_or(|b| e.len() < b.len()) {
                    best = Some(e);
                }
            }
            errs.extend(best.unwrap_or_default());
            return;
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| is_type(t, v)) {
                errs.push(format!("{at}: {v} is not of type {t}"));
                return;
            }
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            errs.push(format!("{at}: {v} is not {c}"));
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errs.push(format!(
                "{at}: {v} is not one of {}",
                Value::Array(e.clone())
            ));
        }
        if let Value::Object(o) = v {
            let props = s.get("properties").and_then(Value::as_object);
            for r in s["required"].as_array().into_iter().flatten() {
                let r = r.as_str().unwrap();
                if !o.contains_key(r) {
                    errs.push(format!("{at}: required field `{r}` is missing"));
                }
            }
            let extra = s.get("additionalProperties");
            for (k, x) in o {
                match (props.and_then(|p| p.get(k)), extra) {
                    (Some(p), _) => self.check(p, x, &format!("{at}.{k}"), errs),
                    (None, Some(Value::Object(_))) => {
                        self.check(extra.unwrap(), x, &format!("{at}.{k}"), errs)
                    }
                    (None, Some(Value::Bool(true))) => {}
                    // An object schema that names no properties at all is free-form.
                    (None, None) if props.is_none() => {}
                    (None, _) => errs.push(format!("{at}: field `{k}` is not in the schema")),
                }
            }
        }
        if let (Value::Array(items), Some(item)) = (v, s.get("items")) {
            for x in items.iter().take(50) {
                self.check(item, x, &format!("{at}[]"), errs);
            }
        }
    }
}

fn is_type(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    }
}

/// A live server, the schema, and every misfit found so far.
struct Checker {
    server: Server,
    spec: Spec,
    errs: Vec<String>,
}

impl Checker {
    /// Calls the server and checks the JSON answer against the schema of its route and status;
    /// returns the status and body.
    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let r = self.server.request(
            method,
            path,
            body.map(|b| ("application/json", b.to_string().into_bytes())),
        );
        let Some((template, op)) = self.spec.operation(method, path) else {
            self.errs
                .push(format!("{method} {path}: no such route in the schema"));
            return (r.status, Value::Null);
        };
        let v: Value = serde_json::from_str(&r.text).unwrap_or(Value::Null);
        let at = format!("{method} {template} {}", r.status);
        match op["responses"].get(r.status.to_string()) {
            None => self
                .errs
                .push(format!("{at}: status not documented ({})", r.text)),
            Some(resp) => match resp["content"]["application/json"].get("schema") {
                Some(schema) => self.spec.check(schema, &v, &at, &mut self.errs),
                None if !v.is_null() => self
                    .errs
                    .push(format!("{at}: no JSON body documented but one came")),
                None => {}
            },
        }
        (r.status, v)
    }

    /// [`Checker::call`], failing unless the status is `want`; returns the body.
    fn expect(&mut self, want: u16, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body);
        assert_eq!(status, want, "{method} {path}: {v}");
        v
    }
}

#[test]
fn every_response_fits_the_checked_in_schema() {
    let mut c = Checker {
        server: Server::start(&[], None),
        spec: Spec::load(),
        errs: Vec::new(),
    };
    let docs = json!({"documents": [
        {"id": "acme-q1", "time": "2023-04-15",
         "text": "Acme Corp reported revenue of $12 million in Q1 2023. Jane Doe became CEO of Acme Corp in March 2023."},
        {"id": "https://news.example/acme?q=2#top", "time": "2023-07-15",
         "text": "Acme Corp reported revenue of $15 million in Q2 2023. Globex Inc opened a plant in Berlin in Q2 2023."}
    ]});
    c.expect(201, "PUT", "/v1/namespaces/c", Some(json!({})));
    c.expect(200, "POST", "/v1/namespaces/c/documents", Some(docs));
    let late =
        json!({"documents": [{"text": "Initech hired 40 engineers in 2022.", "time": "2022"}]});
    let job = c.expect(
        202,
        "POST",
        "/v1/namespaces/c/documents?wait=false",
        Some(late),
    );
    let job = format!("/v1/namespaces/c/jobs/{}", job["id"].as_u64().unwrap());
    let mut state = Value::Null;
    for _ in 0..200 {
        state = c.expect(200, "GET", &job, None)["state"].clone();
        if state != "queued" && state != "running" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(state, "done", "the job did not finish");
    for path in [
        "/health",
        "/v1/namespaces",
        "/v1/namespaces/c",
        "/v1/namespaces/c/documents?limit=1",
        "/v1/namespaces/c/documents/acme-q1",
        "/v1/namespaces/c/documents/https%3A%2F%2Fnews.example%2Facme%3Fq%3D2%23top",
        "/v1/namespaces/c/timeline",
        "/v1/namespaces/c/timeline/2023",
        "/v1/namespaces/c/timeline/2023-Q2",
        "/v1/namespaces/c/transactions?limit=2",
        "/v1/namespaces/c/transactions/1",
        "/v1/namespaces/c/diff?from_tx=0",
        "/v1/namespaces/c/audit?limit=5",
        "/v1/audit/verify",
        "/v1/namespaces/c/conflicts",
        "/v1/namespaces/c/entities/Acme%20Corp",
        "/v1/namespaces/c/entities/Acme%20Corp/timeline",
        "/v1/namespaces/c/facts?entity=Acme%20Corp&limit=5",
        "/v1/namespaces/c/entities?limit=5",
    ] {
        c.expect(200, "GET", path, None);
    }
    for q in [
        json!({"query": "What revenue did Acme Corp report in Q2 2023?", "explain": true}),
        json!({"query": "How did Acme's revenue change?", "time": "2023", "mode": "abstract"}),
        json!({"query": "Who became CEO?", "as_of_tx": 1, "budget_chars": 2000, "top_k": 3}),
    ] {
        c.expect(200, "POST", "/v1/namespaces/c/query", Some(q));
    }
    let facts = c.expect(200, "GET", "/v1/namespaces/c/facts?limit=1", None);
    let fact = facts["facts"][0]["id"].as_u64().unwrap();
    c.expect(200, "GET", &format!("/v1/namespaces/c/facts/{fact}"), None);
    // Governance: assert, correct, retract, merge, rename, summarise, rollback, retract and
    // erase a document.
    let asserted = json!({"facts": [{"subject": "Acme Corp", "object": {"literal": "$16 million"},
        "description": "Acme Corp guided Q3 2023 revenue to $16 million", "time": "2023-Q3"}],
        "reason": "guidance call"});
    let asserted = c.expect(201, "POST", "/v1/namespaces/c/facts", Some(asserted));
    let new = asserted["facts"][0].as_u64().unwrap();
    let patch = json!({"object": {"literal": "$17 million"}, "reason": "revised"});
    let corrected = c.expect(
        200,
        "PATCH",
        &format!("/v1/namespaces/c/facts/{new}"),
        Some(patch),
    );
    let fixed = corrected["fact"].as_u64().unwrap();
    let retract = format!("/v1/namespaces/c/facts/{fixed}?reason=withdrawn");
    c.expect(200, "DELETE", &retract, None);
    let merge = json!({"into": "Acme Corp", "from": ["Globex Inc"], "reason": "test merge"});
    c.expect(200, "POST", "/v1/namespaces/c/entities/merge", Some(merge));
    let rename = json!({"name": "Jane A. Doe", "reason": "full name"});
    c.expect(
        200,
        "PATCH",
        "/v1/namespaces/c/entities/Jane%20Doe",
        Some(rename),
    );
    let (st, v) = c.call("POST", "/v1/namespaces/c/summarize", Some(json!({})));
    assert!(st == 200 || st == 202, "{v}");
    let rollback = json!({"to_tx": 2, "reason": "undo the edits"});
    c.expect(200, "POST", "/v1/namespaces/c/rollback", Some(rollback));
    let doc = "/v1/namespaces/c/documents/acme-q1";
    c.expect(200, "DELETE", &format!("{doc}?reason=superseded"), None);
    c.expect(
        200,
        "DELETE",
        &format!("{doc}?erase=true&reason=legal%20request"),
        None,
    );
    // Errors have their documented shape too.
    for (want, m, path, body) in [
        (404, "GET", "/v1/namespaces/nope", None),
        (400, "GET", "/v1/namespaces/c/facts/abc", None),
        (400, "GET", "/v1/namespaces/c/facts?limit=0", None),
        (
            400,
            "POST",
            "/v1/namespaces/c/query",
            Some(json!({"query": "x", "as_of_tx": 999})),
        ),
        (
            422,
            "POST",
            "/v1/namespaces/c/query",
            Some(json!({"query": "x", "now": "soon"})),
        ),
        (400, "DELETE", "/v1/namespaces/c/facts/1", None),
    ] {
        c.expect(want, m, path, body);
    }
    assert!(
        c.errs.is_empty(),
        "responses that do not fit schema/openapi.json:\n{}",
        c.errs.join("\n")
    );
}
