//! The module dependency graph (petgraph). Unknown modules and cycles are
//! errors; a cycle error names every module on it, in order.

use std::collections::BTreeMap;
use std::fmt::Write;

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use super::suggest::suggest;
use super::{Catalogue, Module, locate};
use crate::error::{Error, Result};

/// Builds the graph: an edge `a → b` means module `a` depends on `b`.
fn build(modules: &BTreeMap<String, Module>) -> DiGraphMap<&str, ()> {
    let mut g = DiGraphMap::new();
    for m in modules.values() {
        g.add_node(m.name.as_str());
        for d in &m.depends {
            g.add_edge(m.name.as_str(), d.as_str(), ());
        }
    }
    g
}

/// Checks that every dependency exists and that there is no cycle.
pub fn check_modules(modules: &BTreeMap<String, Module>) -> Result<()> {
    for m in modules.values() {
        for d in &m.depends {
            if !modules.contains_key(d) {
                let source = std::fs::read_to_string(&m.source).unwrap_or_default();
                return Err(Error::invalid(
                    locate::find(&m.source, &source, d, 1),
                    format!("module `{}` depends on unknown module `{d}`", m.name),
                    Some(suggest(d, modules.keys())),
                ));
            }
        }
    }
    let g = build(modules);
    for scc in tarjan_scc(&g) {
        let self_loop = scc.len() == 1 && g.contains_edge(scc[0], scc[0]);
        if scc.len() > 1 || self_loop {
            let cycle = cycle_through(&g, &scc);
            let first = &modules[&cycle[0]];
            let source = std::fs::read_to_string(&first.source).unwrap_or_default();
            return Err(Error::Cycle {
                loc: locate::find(&first.source, &source, &cycle[1], 1),
                cycle,
            });
        }
    }
    Ok(())
}

/// One cycle through every node of a strongly connected component is not
/// always possible, so we walk from the smallest name along edges inside
/// the component until a node repeats, and report that simple cycle —
/// which names each module the user must look at. For the common case of
/// a single ring it is the whole component.
fn cycle_through(g: &DiGraphMap<&str, ()>, scc: &[&str]) -> Vec<String> {
    let start = *scc.iter().min().expect("a component is never empty");
    let mut path = vec![start];
    let mut current = start;
    loop {
        let mut next: Vec<&str> = g.neighbors(current).filter(|n| scc.contains(n)).collect();
        next.sort();
        // Prefer an unvisited successor so the ring covers the component.
        let step = next
            .iter()
            .find(|n| !path.contains(n))
            .or_else(|| next.first())
            .copied()
            .expect("every node of a cycle has a successor in it");
        if let Some(pos) = path.iter().position(|p| *p == step) {
            let mut cycle: Vec<String> = path[pos..].iter().map(|s| (*s).to_owned()).collect();
            cycle.push(step.to_owned());
            return cycle;
        }
        path.push(step);
        current = step;
    }
}

/// Graphviz DOT of modules (ellipses) and profiles (boxes); a profile's
/// recommended modules are dashed edges.
pub fn to_dot(cat: &Catalogue) -> String {
    let mut out = String::from("digraph vpsc {\n  rankdir=LR;\n  node [shape=ellipse];\n");
    for m in cat.modules.values() {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\"];",
            m.package(),
            m.package(),
            m.version
        );
        for d in &m.depends {
            let _ = writeln!(out, "  \"{}\" -> \"vpsc-mod-{d}\";", m.package());
        }
    }
    for p in cat.profiles.values() {
        let _ = writeln!(
            out,
            "  \"{}\" [shape=box, label=\"{}\\n{}\"];",
            p.package(),
            p.package(),
            p.version
        );
        for m in &p.modules {
            let style = if m.core { "solid" } else { "dashed" };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"vpsc-mod-{}\" [style={style}];",
                p.package(),
                m.name
            );
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(name: &str, deps: &[&str]) -> Module {
        Module {
            name: name.into(),
            version: "1.0".into(),
            description: "d".into(),
            long_description: "l".into(),
            section: "admin".into(),
            depends: deps.iter().map(|d| (*d).to_owned()).collect(),
            packages: vec![],
            suggests: vec![],
            parameters: Default::default(),
            choices: Default::default(),
            types: Default::default(),
            require: vec![],
            effects: vec![],
            vendor_files: vec![],
            verify: vec![],
            reload: vec![],
            cis_waivers: vec![],
            vendor: None,
            source: format!("/nonexistent/{name}.yaml").into(),
        }
    }

    #[test]
    fn cycle_error_names_every_module() {
        let modules: BTreeMap<String, Module> = [
            module("a", &["b"]),
            module("b", &["c"]),
            module("c", &["a"]),
            module("d", &[]),
        ]
        .into_iter()
        .map(|m| (m.name.clone(), m))
        .collect();
        match check_modules(&modules) {
            Err(Error::Cycle { cycle, .. }) => assert_eq!(cycle, ["a", "b", "c", "a"]),
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let modules: BTreeMap<String, Module> = [module("a", &["a"])]
            .into_iter()
            .map(|m| (m.name.clone(), m))
            .collect();
        assert!(matches!(check_modules(&modules), Err(Error::Cycle { .. })));
    }
}
