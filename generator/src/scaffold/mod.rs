//! `vpsc-gen new module NAME`: a commented module skeleton that builds as
//! it is, so a new module starts from something `vpsc-gen check` accepts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The skeleton; `@NAME@` and `@SCHEMA@` are filled in, `{{ … }}` are the
/// module's own templates.
const MODULE: &str = include_str!("module.yaml");

/// Where editors find the module schema: the one `vpsc-gen` ships.
pub const MODULE_SCHEMA: &str = "/usr/share/vpsc-gen/schema/module.schema.json";

/// The skeleton of module `name`.
pub fn module_text(name: &str) -> Result<String> {
    vpsc_contract::names::module(name).map_err(|e| Error::Usage {
        what: e.what,
        hint: "name the module like the package it becomes: vpsc-mod-NAME".into(),
    })?;
    Ok(MODULE
        .replace("@SCHEMA@", MODULE_SCHEMA)
        .replace("@NAME@", name))
}

/// Writes `DIR/modules/NAME.yaml`, never over an existing file.
pub fn new_module(profiles: &Path, name: &str) -> Result<PathBuf> {
    let text = module_text(name)?;
    let dir = profiles.join("modules");
    std::fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    let path = dir.join(format!("{name}.yaml"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::Usage {
                what: format!("{} exists already", path.display()),
                hint: "choose another name, or edit the module that is there".into(),
            },
            _ => Error::io("create", &path)(e),
        })?;
    file.write_all(text.as_bytes())
        .map_err(Error::io("write", &path))?;
    Ok(path)
}
