//! The wire contract, generated from the code.
//!
//! `schema/openapi.json` is this module's output and nothing else: the operations (paths,
//! parameters, statuses, security) are written by hand in `openapi.paths.json` beside this file,
//! as Qdrant writes its path templates, and every body schema under `components/schemas` is
//! derived (`schemars`) from the Rust type the handlers serialize or deserialize. A field added
//! to a wire type therefore reaches the schema, and from there the Python client's field-by-field
//! test, without anyone editing JSON.
//!
//! **Invariant:** the checked-in `schema/openapi.json` equals [`document`]; the unit test
//! `the_checked_in_schema_is_the_generated_one` fails otherwise and says how to regenerate it
//! (`chronorag openapi > schema/openapi.json`). The server serves the checked-in file.

use super::{governance, wire};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value};

use crate::engine::BackupReport;
use crate::engine::{ConflictView, EraseReport, FactList, Job, TimelineNode, VerifyReport};
use crate::governance::history::{Diff, FactChange};
use crate::index::IndexSizes;
use crate::ingest::IngestReport;
use crate::ingest::input::{DocumentInput, Rejected};
use crate::model::{
    AuditEntryView, ChunkView, DocumentInfo, DocumentView, EntityView, FactView, SummaryView,
    TxView,
};
use crate::query::{QueryRequest, QueryResult};
use crate::store::{AuditVerify, Stats};
use crate::summary::scheduler::SummarizeReport;

/// The operations, written by hand; everything under `components/schemas` is generated.
const PATHS: &str = include_str!("openapi.paths.json");

/// The whole OpenAPI document: the hand-written operations with the generated schemas.
pub fn document() -> Value {
    let mut doc: Value = serde_json::from_str(PATHS).expect("openapi.paths.json is valid JSON");
    doc["info"]["version"] = Value::from(env!("CARGO_PKG_VERSION"));
    doc["components"]["schemas"] = Value::Object(schemas());
    doc
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
        "openapi.paths.json has a top-level section render() does not place"
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

/// Adds `T`'s schema, and every schema it refers to, to the generator's definitions.
fn add<T: JsonSchema>(g: &mut SchemaGenerator) {
    let r = g.subschema_for::<T>();
    assert!(
        r.get("$ref").is_some(),
        "{} is inlined; a component must be a named type",
        T::schema_name()
    );
}

/// Every body schema: what the server sends (the serialize contract: a field skipped when
/// empty is optional) and what it accepts (the deserialize contract: a field with a default
/// is optional). A type on both sides must come out the same, or be split into two types.
fn schemas() -> Map<String, Value> {
    let mut out = settings().for_serialize().into_generator();
    add::<Stats>(&mut out);
    add::<IndexSizes>(&mut out);
    add::<Rejected>(&mut out);
    add::<Job>(&mut out);
    add::<IngestReport>(&mut out);
    add::<QueryResult>(&mut out);
    add::<FactView>(&mut out);
    add::<FactList>(&mut out);
    add::<EntityView>(&mut out);
    add::<DocumentInfo>(&mut out);
    add::<ChunkView>(&mut out);
    add::<DocumentView>(&mut out);
    add::<SummaryView>(&mut out);
    add::<TimelineNode>(&mut out);
    add::<SummarizeReport>(&mut out);
    add::<TxView>(&mut out);
    add::<AuditEntryView>(&mut out);
    add::<AuditVerify>(&mut out);
    add::<VerifyReport>(&mut out);
    add::<FactChange>(&mut out);
    add::<Diff>(&mut out);
    add::<EraseReport>(&mut out);
    add::<ConflictView>(&mut out);
    add::<BackupReport>(&mut out);
    add::<wire::ErrorBody>(&mut out);
    add::<wire::Health>(&mut out);
    add::<wire::NamespaceList>(&mut out);
    add::<wire::NamespaceCreated>(&mut out);
    add::<wire::NamespaceInfo>(&mut out);
    add::<wire::JobAccepted>(&mut out);
    add::<wire::DocumentPage>(&mut out);
    add::<wire::EntityPage>(&mut out);
    add::<wire::EntityTimeline>(&mut out);
    add::<wire::TransactionPage>(&mut out);
    add::<wire::AuditLogPage>(&mut out);
    add::<wire::ConflictList>(&mut out);
    add::<wire::FactsAsserted>(&mut out);
    add::<wire::FactCorrected>(&mut out);
    add::<wire::FactRetracted>(&mut out);
    add::<wire::DocumentRetracted>(&mut out);
    add::<wire::TxRef>(&mut out);
    add::<wire::EntitiesMerged>(&mut out);
    add::<wire::RollbackResult>(&mut out);

    let mut inp = settings().for_deserialize().into_generator();
    add::<DocumentInput>(&mut inp);
    add::<QueryRequest>(&mut inp);
    add::<super::routes::IngestRequest>(&mut inp);
    add::<governance::AssertRequest>(&mut inp);
    add::<governance::CorrectRequest>(&mut inp);
    add::<governance::RenameRequest>(&mut inp);
    add::<governance::MergeRequest>(&mut inp);
    add::<governance::RollbackRequest>(&mut inp);
    add::<governance::BackupRequest>(&mut inp);

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
    all.values_mut().for_each(unwrap_descriptions);
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
