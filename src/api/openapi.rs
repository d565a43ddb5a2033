//! The wire contract, generated from the code.
//!
//! `schema/openapi.json` is this module's output and nothing else. The operations come from the
//! table in [`super::operations`], the same one the router mounts: each route's path
//! parameters, its query parameters (from the handler's query struct: names, types, bounds,
//! which are required, and the doc comment of each field), its body and its responses. Every
//! body schema under `components/schemas` is derived (`schemars`) from the Rust type the
//! handlers serialize or deserialize. A field added to a wire type or a query struct therefore
//! reaches the schema, and from there the Python client's field-by-field test, without anyone
//! editing JSON; only the head (title, servers, security schemes) is written here.
//!
//! **Invariant:** the checked-in `schema/openapi.json` equals [`document`]; the unit test
//! `the_checked_in_schema_is_the_generated_one` fails otherwise and says how to regenerate it
//! (`chronorag openapi > schema/openapi.json`). The server serves the checked-in file.

use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::operations::{self, ERRORS, Op, reference};
use super::wire;

/// The whole OpenAPI document: the operations of [`operations::routes`] with the schemas of the
/// types they use.
pub fn document() -> Value {
    let mut out = settings().for_serialize().into_generator();
    let mut inp = settings().for_deserialize().into_generator();
    let mut paths = Map::new();
    for r in operations::routes() {
        let ops = paths
            .entry(r.path)
            .or_insert_with(|| Value::Object(Map::new()));
        let method = r.method.to_ascii_lowercase();
        assert!(
            ops.get(&method).is_none(),
            "{} {} is listed twice",
            r.method,
            r.path
        );
        ops[method] = operation(&r.op, r.path, &mut out, &mut inp);
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ChronoRAG",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Temporal knowledge-graph RAG database. Every error has the shape \
                {\"error\": {\"code\", \"message\", \"details\"?}}. With `serve --auth keys.toml`, send \
                `Authorization: Bearer <key>` (or `X-API-Key`); roles read < write < admin are \
                granted per namespace."
        },
        "servers": [{"url": "http://127.0.0.1:7070"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            }
        },
        "security": [{}, {"bearer": []}, {"apiKey": []}],
        "paths": paths,
    });
    doc["components"]["schemas"] = Value::Object(schemas(out, inp));
    unwrap_descriptions(&mut doc);
    doc
}

/// The namespace path parameter every `/v1/namespaces/{ns}` route shares.
fn namespace_param() -> Value {
    json!({
        "name": "ns",
        "in": "path",
        "required": true,
        "description": "Namespace: 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit.",
        "schema": {"type": "string", "pattern": crate::model::NAMESPACE_PATTERN},
    })
}

/// One operation object. Responses are described with the serialize generator `out`, the
/// query string and the body with the deserialize generator `inp`.
fn operation(op: &Op, path: &str, out: &mut SchemaGenerator, inp: &mut SchemaGenerator) -> Value {
    let mut o = Map::new();
    o.insert("summary".into(), op.summary.into());
    if let Some(d) = op.description {
        o.insert("description".into(), d.into());
    }
    o.insert("tags".into(), json!([op.tag]));

    let mut params = Vec::new();
    for name in path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
    {
        if name == "ns" {
            params.push(namespace_param());
            continue;
        }
        let p = op
            .path_params
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{path}: path parameter {{{name}}} is not described"));
        params.push(json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": p.description,
            "schema": {"type": p.kind},
        }));
    }
    if let Some((schema, fields)) = op.query {
        params.extend(query_params(path, schema(inp), fields()));
    }
    if !params.is_empty() {
        o.insert("parameters".into(), Value::Array(params));
    }
    if let Some(b) = op.body {
        o.insert(
            "requestBody".into(),
            json!({"required": true, "content": {"application/json": {"schema": b(inp)}}}),
        );
    }

    let mut responses = Map::new();
    for r in &op.responses {
        let mut v = json!({"description": r.description});
        if !r.content.is_empty() {
            let content: Map<String, Value> = r
                .content
                .iter()
                .map(|(mime, f)| (mime.to_string(), json!({"schema": f(out)})))
                .collect();
            v["content"] = Value::Object(content);
        }
        assert!(
            responses.insert(r.status.to_string(), v).is_none(),
            "{path}: status {} is described twice",
            r.status
        );
    }
    for code in op.errors {
        let (_, description) = ERRORS
            .iter()
            .find(|(c, _)| c == code)
            .unwrap_or_else(|| panic!("{path}: {code} is not a standard error status"));
        responses.entry(code.to_string()).or_insert_with(|| {
            json!({
                "description": description,
                "content": {"application/json": {"schema": reference::<wire::ErrorBody>(out)}},
            })
        });
    }
    o.insert("responses".into(), Value::Object(responses));
    Value::Object(o)
}

/// The query parameters of an operation from its query struct's object schema: one parameter
/// per property, in the order the struct declares its `fields`, required when the struct
/// requires it, described by the field's doc comment.
fn query_params(path: &str, object: Value, fields: &[&str]) -> Vec<Value> {
    let required: Vec<&str> = object["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = object["properties"].as_object() else {
        panic!("{path}: the query struct is not an object with properties")
    };
    assert_eq!(
        props.len(),
        fields.len(),
        "{path}: the query struct's schema and its fields differ"
    );
    let mut props: Vec<(&String, &Value)> = props.iter().collect();
    props.sort_by_key(|(name, _)| fields.iter().position(|f| f == name));
    props
        .into_iter()
        .map(|(name, schema)| {
            let mut schema = schema.as_object().cloned().unwrap_or_default();
            let description = schema
                .remove("description")
                .unwrap_or_else(|| panic!("{path}: query parameter {name} has no doc comment"));
            non_null(&mut schema);
            json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "description": description,
                "schema": schema,
            })
        })
        .collect()
}

/// A parameter is absent rather than null: drops `null` from an optional field's schema.
fn non_null(schema: &mut Map<String, Value>) {
    if schema.get("default") == Some(&Value::Null) {
        schema.remove("default");
    }
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let t = types.remove(0);
            schema.insert("type".into(), t);
        }
    }
    if let Some(Value::Array(any)) = schema.get("anyOf").cloned() {
        let rest: Vec<Value> = any
            .into_iter()
            .filter(|s| s.get("type") != Some(&Value::from("null")))
            .collect();
        if let [one] = rest.as_slice() {
            schema.remove("anyOf");
            if let Some(o) = one.as_object() {
                schema.extend(o.clone());
            }
        }
    }
}

/// The document as `schema/openapi.json` holds it: the top-level sections in the usual order
/// (`openapi`, `info`, … `paths`), the keys inside them sorted, two-space indented, with a
/// final newline.
pub fn render() -> String {
    let doc = document();
    let top = doc.as_object().expect("the document is an object");
    let order = [
        "openapi",
        "info",
        "servers",
        "components",
        "security",
        "paths",
    ];
    assert!(
        top.keys().all(|k| order.contains(&k.as_str())),
        "the document has a top-level section render() does not place"
    );
    let present: Vec<&str> = order.into_iter().filter(|k| top.contains_key(*k)).collect();
    let mut out = String::from("{\n");
    for (i, k) in present.iter().enumerate() {
        let body = serde_json::to_string_pretty(&top[*k]).expect("a Value always serializes");
        out.push_str(&format!(
            "  {}: {}",
            Value::from(*k),
            body.replace('\n', "\n  ")
        ));
        out.push_str(if i + 1 < present.len() { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

fn settings() -> SchemaSettings {
    SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    })
}

/// Every body schema: what the server sends (the serialize contract: a field skipped when
/// empty is optional) and what it accepts (the deserialize contract: a field with a default
/// is optional). A type on both sides must come out the same, or be split into two types.
fn schemas(mut out: SchemaGenerator, mut inp: SchemaGenerator) -> Map<String, Value> {
    let mut all = out.take_definitions(true);
    for (name, schema) in inp.take_definitions(true) {
        match all.get(&name) {
            Some(sent) => assert_eq!(
                sent, &schema,
                "{name} is both sent and accepted, with different schemas: split it in two"
            ),
            None => {
                all.insert(name, schema);
            }
        }
    }
    all.sort_keys();
    all
}

/// Joins the lines of every description into one paragraph per blank-line break: doc comments
/// are wrapped at 100 columns, descriptions are read as prose.
fn unwrap_descriptions(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                match x {
                    Value::String(s) if k == "description" => {
                        *s = s
                            .split("\n\n")
                            .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in `v`.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_names_a_generated_schema() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "only {} references", found.len());
        for r in found {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r} does not point into components/schemas"));
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} names no schema"
            );
        }
    }

    #[test]
    fn the_checked_in_schema_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/openapi.json");
        let want = render();
        if std::env::var_os("CHRONORAG_BLESS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap();
        assert!(
            have == want,
            "schema/openapi.json is not what the code generates; regenerate it with \
             `cargo run -- openapi > schema/openapi.json` (or CHRONORAG_BLESS=1 cargo test \
             the_checked_in_schema) and review the diff"
        );
    }
}
