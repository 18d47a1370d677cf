//! One build: catalogue → packages → repository, all in memory first and
//! then written to a temporary directory that replaces `--out` at the end,
//! so bad input or a failure never leaves half an output.

use std::path::{Path, PathBuf};

use minijinja::{Environment, context};
use serde::Serialize;
use sha2::Digest;

use crate::deb::{self, DataFile, DebSpec};
use crate::error::{Error, Result};
use crate::profile::{Catalogue, Module, Profile, Source, load_catalogue};
use crate::repo::pool::pool_path;
use crate::repo::{self, PoolEntry};
use crate::{control, doc, scripts};
use vpsc_contract::plan::{PLAN_DIR, PLAN_FORMAT, PROFILE_DIR, ProfileDoc};

/// Inputs of a build.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Directory with `modules/` and the profile YAML files.
    pub profiles: PathBuf,
    /// Directory with the maintainer-script templates.
    pub hooks: PathBuf,
    /// `repo.yaml`.
    pub config: PathBuf,
    /// SOURCE_DATE_EPOCH: every timestamp in the output.
    pub epoch: u64,
}

/// A package rendered but not yet archived: what golden tests snapshot.
pub struct Rendered {
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// The archive's contents.
    pub spec: DebSpec,
}

/// A package written to the pool.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Path relative to the output directory.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
}

/// Loads and validates the inputs.
pub fn catalogue(inputs: &Inputs) -> Result<Catalogue> {
    load_catalogue(&inputs.profiles, &inputs.config)
}

fn doc_files(
    package: &str,
    version: &str,
    cat: &Catalogue,
    source: &Path,
    epoch: u64,
) -> Vec<DataFile> {
    let changelog = doc::changelog(
        package,
        version,
        &cat.config,
        &source.display().to_string(),
        epoch,
    );
    vec![
        DataFile {
            path: format!("/usr/share/doc/{package}/copyright"),
            content: doc::copyright(&cat.config).into_bytes(),
            mode: 0o644,
        },
        DataFile {
            path: format!("/usr/share/doc/{package}/changelog.gz"),
            content: deb::gzip(changelog.as_bytes()),
            mode: 0o644,
        },
    ]
}

/// Source path as recorded in changelogs: relative to the profiles
/// directory itself (`modules/git.yaml`), so the output depends neither on
/// where the checkout lives nor on what the directory is called.
fn shown_source(inputs: &Inputs, path: &Path) -> PathBuf {
    path.strip_prefix(&inputs.profiles)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A source file as messages name it for the person who edits it: from
/// the profiles directory's parent (`profiles/modules/git.yaml`).
fn file_to_edit(inputs: &Inputs, path: &Path) -> PathBuf {
    let base = inputs.profiles.parent().unwrap_or(Path::new(""));
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

fn version_of<'a>(cat: &'a Catalogue) -> impl Fn(&str) -> String + 'a {
    move |name| {
        cat.modules
            .get(name)
            .map(|m| m.version.clone())
            .unwrap_or_default()
    }
}

/// What differs between a module and a profile package; the rest of the
/// assembly (doc files, scripts, control, sorting) is shared.
struct Parts<'a> {
    package: String,
    version: &'a str,
    source: &'a Path,
    /// `module` or `profile`: selects `hooks/<kind>-<script>.j2`.
    kind: &'static str,
    /// Template context of the maintainer scripts.
    context: minijinja::Value,
    /// Files besides the doc files.
    files: Vec<DataFile>,
}

fn assemble(
    cat: &Catalogue,
    env: &Environment<'_>,
    inputs: &Inputs,
    parts: Parts<'_>,
    control: impl FnOnce(u64) -> String,
) -> Result<Rendered> {
    let mut files = parts.files;
    files.extend(doc_files(
        &parts.package,
        parts.version,
        cat,
        &shown_source(inputs, parts.source),
        inputs.epoch,
    ));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    // A source package only ships files: dpkg does all there is to do.
    let names: &[&str] = if parts.kind == "source" {
        &[]
    } else {
        &scripts::MODULE_SCRIPTS
    };
    let scripts = names
        .iter()
        .map(|s| {
            let body = scripts::render(env, &inputs.hooks, parts.kind, s, parts.context.clone())?;
            Ok(((*s).to_owned(), body))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Rendered {
        package: parts.package,
        version: parts.version.to_owned(),
        spec: DebSpec {
            control: control(deb::installed_size(&files)),
            scripts,
            files,
            epoch: inputs.epoch,
        },
    })
}

fn json_file(path: String, value: &impl Serialize) -> DataFile {
    let mut json = serde_json::to_string_pretty(value).expect("plans and profiles serialise");
    json.push('\n');
    DataFile {
        path,
        content: json.into_bytes(),
        mode: 0o644,
    }
}

/// Renders the package of one module.
pub fn render_module(
    cat: &Catalogue,
    env: &Environment<'_>,
    inputs: &Inputs,
    m: &Module,
) -> Result<Rendered> {
    let plan = m.plan();
    let mut files = vec![json_file(format!("/{PLAN_DIR}/{}.json", m.name), &plan)];
    files.extend(m.vendor_files.iter().map(|v| DataFile {
        path: v.path.clone(),
        content: v.content.clone(),
        mode: v.mode,
    }));
    let parts = Parts {
        package: m.package(),
        version: &m.version,
        source: &m.source,
        kind: "module",
        context: context! {
            package => m.package(),
            module => m.name,
        },
        files,
    };
    assemble(cat, env, inputs, parts, |size| {
        control::module_control(m, &cat.config, size, &version_of(cat))
    })
}

/// Renders the metapackage of one profile.
pub fn render_profile(
    cat: &Catalogue,
    env: &Environment<'_>,
    inputs: &Inputs,
    p: &Profile,
) -> Result<Rendered> {
    let doc = ProfileDoc {
        format: PLAN_FORMAT,
        profile: p.name.clone(),
        version: p.version.clone(),
        modules: p
            .modules
            .iter()
            .map(|m| (m.name.clone(), m.parameters.clone()))
            .collect(),
    };
    let parts = Parts {
        package: p.package(),
        version: &p.version,
        source: &p.source,
        kind: "profile",
        context: context! {
            package => p.package(),
            profile => p.name,
        },
        files: vec![json_file(format!("/{PROFILE_DIR}/{}.json", p.name), &doc)],
    };
    assemble(cat, env, inputs, parts, |size| {
        control::profile_control(p, &cat.config, size, &version_of(cat))
    })
}

/// Renders the `vpsc-source-<vendor>` package of one vendor source.
pub fn render_source(
    cat: &Catalogue,
    env: &Environment<'_>,
    inputs: &Inputs,
    s: &Source,
) -> Result<Rendered> {
    let mut files: Vec<DataFile> = [&s.keyring, &s.sources_file]
        .into_iter()
        .map(|f| DataFile {
            path: f.path.clone(),
            content: f.content.clone(),
            mode: f.mode,
        })
        .collect();
    let why = if s.package == crate::archive::PACKAGE {
        "# Adding vpsc's apt source is this package's whole purpose: the\n\
         # administrator installs it explicitly to set a server up (README:\n\
         # Using the repository), and purging it removes it.\n"
    } else {
        "# Adding the vendor's apt source is this package's whole purpose: the\n\
         # administrator installs it explicitly, as the first of two steps\n\
         # (README: Vendor software), and purging it removes the entry again.\n"
    };
    files.push(DataFile {
        path: format!("/usr/share/lintian/overrides/{}", s.package()),
        content: format!(
            "{why}{}: package-installs-apt-sources [{}]\n",
            s.package(),
            s.sources_file.path.trim_start_matches('/')
        )
        .into_bytes(),
        mode: 0o644,
    });
    let parts = Parts {
        package: s.package(),
        version: &s.version,
        source: &s.source,
        kind: "source",
        context: context! {},
        files,
    };
    assemble(cat, env, inputs, parts, |size| {
        control::source_control(s, &cat.config, size)
    })
}

/// Renders every module, profile and source package of the catalogue.
pub fn render_all(cat: &Catalogue, inputs: &Inputs) -> Result<Vec<Rendered>> {
    let env = scripts::environment(&inputs.hooks)?;
    let mut out = Vec::new();
    for m in cat.modules.values() {
        out.push(render_module(cat, &env, inputs, m)?);
    }
    for p in cat.profiles.values() {
        out.push(render_profile(cat, &env, inputs, p)?);
    }
    for s in cat.sources.values() {
        out.push(render_source(cat, &env, inputs, s)?);
    }
    Ok(out)
}

/// Builds every package plus `extra_debs` (e.g. vpsc-runtime) and, if
/// given, the archive keyring into an unsigned apt repository at `out`,
/// replacing what was there (`repo publish` signs and keeps history).
pub fn build(
    inputs: &Inputs,
    out: &Path,
    extra_debs: &[PathBuf],
    archive: Option<&Source>,
) -> Result<Vec<Written>> {
    build_against(inputs, out, extra_debs, archive, None)
}

/// One package of the catalogue (or the archive keyring), by package name.
#[derive(Clone, Copy)]
enum Item<'a> {
    Module(&'a Module),
    Profile(&'a Profile),
    Source(&'a Source),
}

impl<'a> Item<'a> {
    /// The YAML file it is built from.
    fn source(&self) -> &'a PathBuf {
        match self {
            Item::Module(m) => &m.source,
            Item::Profile(p) => &p.source,
            Item::Source(s) => &s.source,
        }
    }
}

/// The file whose `version:` sets `package`'s version, as the person
/// who runs the build names it; the keyring's is a setting of repo.yaml.
fn version_file(inputs: &Inputs, it: Item<'_>, package: &str) -> String {
    if package == crate::archive::PACKAGE {
        repo::bump::version_in(package)
    } else {
        file_to_edit(inputs, it.source()).display().to_string()
    }
}

fn item<'a>(cat: &'a Catalogue, archive: Option<&'a Source>, package: &str) -> Option<Item<'a>> {
    if let Some(m) = cat.modules.values().find(|m| m.package() == package) {
        return Some(Item::Module(m));
    }
    if let Some(p) = cat.profiles.values().find(|p| p.package() == package) {
        return Some(Item::Profile(p));
    }
    cat.sources
        .values()
        .chain(archive)
        .find(|s| s.package() == package)
        .map(Item::Source)
}

/// As [`build`], and compared with the packages already published under
/// `against` (a repository root or any directory of `.deb` files): a
/// package whose version is there is built with that file's timestamp, so
/// an unchanged one comes out byte for byte the same whatever
/// SOURCE_DATE_EPOCH and generator built it. One that still differs
/// changed without a new version: every such package is named in one
/// [`Error::Unbumped`] and nothing is written.
pub fn build_against(
    inputs: &Inputs,
    out: &Path,
    extra_debs: &[PathBuf],
    archive: Option<&Source>,
    against: Option<&Path>,
) -> Result<Vec<Written>> {
    let cat = catalogue(inputs)?;
    let mut rendered = render_all(&cat, inputs)?;
    let env = scripts::environment(&inputs.hooks)?;
    if let Some(keyring) = archive {
        rendered.push(render_source(&cat, &env, inputs, keyring)?);
    }
    let published = match against {
        Some(dir) if dir.is_dir() => repo::pool::scan(&[dir.to_path_buf()], &cat.config.component)?,
        Some(dir) => {
            return Err(Error::Usage {
                what: format!("--against {}: no such directory", dir.display()),
                hint: "give the root of the published repository (or leave --against out for a first release)".into(),
            });
        }
        None => Vec::new(),
    };
    let find = |package: &str, version: &str, arch: &str| {
        published
            .iter()
            .find(|d| d.package == package && d.version == version && d.arch == arch)
    };
    let mut unbumped = Vec::new();
    let mut built = Vec::new();
    for r in rendered {
        let Some(old) = find(&r.package, &r.version, "all") else {
            built.push((deb::build(&r.spec), r));
            continue;
        };
        let it = item(&cat, archive, &r.package).expect("rendered from the catalogue");
        let r = match repo::bump::file_epoch(&old.path) {
            Some(epoch) if epoch != inputs.epoch => {
                let inputs = Inputs {
                    epoch,
                    ..inputs.clone()
                };
                match it {
                    Item::Module(m) => render_module(&cat, &env, &inputs, m)?,
                    Item::Profile(p) => render_profile(&cat, &env, &inputs, p)?,
                    Item::Source(s) => render_source(&cat, &env, &inputs, s)?,
                }
            }
            _ => r,
        };
        let bytes = deb::build(&r.spec);
        if crate::deb::hex(&sha2::Sha256::digest(&bytes)) != old.entry.sha256 {
            unbumped.push(repo::bump::Unbumped {
                package: r.package.clone(),
                version: r.version.clone(),
                arch: "all".into(),
                published: old.path.clone(),
                built: it.source().clone(),
                version_in: version_file(inputs, it, &r.package),
            });
        }
        built.push((bytes, r));
    }
    for path in extra_debs {
        let deb = repo::pool::read(path, &cat.config.component)?;
        unbumped.extend(repo::bump::unbumped(&[deb], &published));
    }
    if !unbumped.is_empty() {
        // Packages built the same as published (every other one is in
        // `unbumped` or new), which change once those get new versions.
        let unchanged: Vec<repo::bump::Unchanged<'_>> = built
            .iter()
            .filter(|(_, r)| find(&r.package, &r.version, "all").is_some())
            .map(|(_, r)| repo::bump::Unchanged {
                package: &r.package,
                version: &r.version,
                control: &r.spec.control,
                version_in: match item(&cat, archive, &r.package) {
                    Some(it) => version_file(inputs, it, &r.package),
                    None => repo::bump::version_in(&r.package),
                },
            })
            .collect();
        return Err(Error::Unbumped {
            dependents: repo::bump::dependents(&unbumped, &unchanged),
            unbumped,
            against: against.map(|d| d.display().to_string()).unwrap_or_default(),
        });
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut entries = Vec::new();
    let mut written = Vec::new();
    for (bytes, r) in built {
        let filename = pool_path(
            &cat.config.component,
            &r.package,
            &r.package,
            &r.version,
            "all",
        );
        entries.push(PoolEntry::new(
            r.spec.control.clone(),
            filename.clone(),
            &bytes,
        ));
        written.push(Written {
            package: r.package,
            version: r.version,
            filename: filename.clone(),
            size: bytes.len() as u64,
        });
        files.push((filename, bytes));
    }
    for path in extra_debs {
        let bytes = std::fs::read(path).map_err(Error::io("read", path))?;
        let deb = repo::pool::read(path, &cat.config.component)?;
        let filename = deb.entry.filename.clone();
        entries.push(deb.entry);
        written.push(Written {
            package: deb.package,
            version: deb.version,
            filename: filename.clone(),
            size: bytes.len() as u64,
        });
        files.push((filename, bytes));
    }
    entries.sort_by(|a, b| a.filename.cmp(&b.filename));
    let (indices, release) = repo::indices(&entries, &cat.config, inputs.epoch)?;
    let dists = format!("dists/{}", cat.config.suite);
    for f in indices {
        files.push((format!("{dists}/{}", f.by_hash_path()), f.data.clone()));
        files.push((format!("{dists}/{}", f.path), f.data));
    }
    files.push((format!("{dists}/Release"), release.into_bytes()));
    write_tree(out, &files)?;
    Ok(written)
}

/// Writes `files` under a fresh sibling directory, then swaps it in.
fn write_tree(out: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dist".into());
    let tmp = parent.join(format!(".{name}.new-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let result = (|| {
        for (rel, data) in files {
            let path = tmp.join(rel);
            let dir = path.parent().expect("relative paths have parents");
            std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
            std::fs::write(&path, data).map_err(Error::io("write", &path))?;
        }
        if out.exists() {
            std::fs::rename(out, &old).map_err(Error::io("move aside", out))?;
        }
        std::fs::rename(&tmp, out).map_err(Error::io("create", out))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(Error::io("remove", &old))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
