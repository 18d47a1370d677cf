//! JSON Schemas of module and profile YAML, generated from the very types
//! `vpsc-gen` parses them with, so an editor with yaml-language-server
//! completes and checks the same fields `vpsc-gen check` accepts. Shipped
//! in `/usr/share/vpsc-gen/schema/`; `vpsc-gen schema` prints them.

use crate::profile::raw::{RawModule, RawProfile};

/// The schema of `profiles/modules/*.yaml`.
pub fn module() -> serde_json::Value {
    with_id(schemars::schema_for!(RawModule), "module")
}

/// The schema of `profiles/*.yaml`.
pub fn profile() -> serde_json::Value {
    with_id(schemars::schema_for!(RawProfile), "profile")
}

fn with_id(schema: schemars::Schema, what: &str) -> serde_json::Value {
    let mut value = schema.to_value();
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "$id".into(),
            format!("file:///usr/share/vpsc-gen/schema/{what}.schema.json").into(),
        );
        map.insert("title".into(), format!("vpsc {what}").into());
    }
    value
}
