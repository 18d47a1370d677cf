//! Every shipped module and profile validates against the JSON Schema
//! generated from the model, and the schema refuses what `check` refuses.

mod common;

use std::path::{Path, PathBuf};

use common::workspace;

fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("read");
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn errors(schema: &serde_json::Value, value: &serde_json::Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("a valid schema");
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_shipped_module_and_profile_validates() {
    let profiles = workspace().join("profiles");
    let modules = files(&profiles.join("modules"));
    assert!(modules.len() >= 20, "{modules:?}");
    let schema = vpsc_gen::schema::module();
    for m in &modules {
        let errs = errors(&schema, &yaml(m));
        assert!(errs.is_empty(), "{}: {errs:#?}", m.display());
    }
    let schema = vpsc_gen::schema::profile();
    let shipped = files(&profiles);
    assert_eq!(shipped.len(), 4, "{shipped:?}");
    for p in &shipped {
        let errs = errors(&schema, &yaml(p));
        assert!(errs.is_empty(), "{}: {errs:#?}", p.display());
    }
}

#[test]
fn the_schema_refuses_unknown_fields_and_wrong_shapes() {
    let schema = vpsc_gen::schema::module();
    let git = yaml(&workspace().join("profiles/modules/git.yaml"));
    let mut typo = git.clone();
    typo["pakages"] = serde_json::json!(["git"]);
    assert!(
        !errors(&schema, &typo).is_empty(),
        "an unknown field passes"
    );
    let mut effect = git.clone();
    effect["effects"][0] = serde_json::json!({"managed_file": {"path": "/etc/x"}});
    assert!(
        !errors(&schema, &effect).is_empty(),
        "a managed_file without template passes"
    );
    let mut kind = git.clone();
    kind["effects"][0] = serde_json::json!({"teleport": {"path": "/etc/x"}});
    assert!(
        !errors(&schema, &kind).is_empty(),
        "an unknown effect passes"
    );
    let mut version = git;
    version["version"] = serde_json::json!(["1"]);
    assert!(
        !errors(&schema, &version).is_empty(),
        "a list as version passes"
    );
}
