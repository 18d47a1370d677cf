//! `debian/copyright` of vpsc's own packages: vpsc's licence, and the
//! licences of the crates statically linked into its programs, grouped by
//! licence, from the lockfile (`vpsc-docs --copyright`, checked by a test
//! to match the committed file).

use std::collections::BTreeMap;

use vpsc_gen::sbom::LinkedCrate;

/// The whole file.
pub fn render(crates: &[LinkedCrate]) -> String {
    let mut by_licence: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in crates {
        let licence = c
            .license
            .clone()
            .unwrap_or_else(|| "(none declared)".into())
            .replace('/', " OR ");
        by_licence
            .entry(licence)
            .or_default()
            .push(format!("{} {}", c.name, c.version));
    }
    let mut out = String::from(HEADER);
    out.push_str(
        "Comment: vpsc-runtime and vpsc-gen are statically linked Rust programs.\n \
         Besides vpsc's own code they contain these crates from crates.io, each\n \
         under its own licence (SPDX expressions as the crates declare them;\n \
         each crate's copyright is its authors', its licence text in its\n \
         source on crates.io; Apache-2.0 is in\n \
         /usr/share/common-licenses/Apache-2.0):\n",
    );
    for (licence, names) in &by_licence {
        out.push_str(" .\n");
        out.push_str(&format!(" {licence}:\n"));
        let mut line = String::from(" ");
        for (i, n) in names.iter().enumerate() {
            let item = if i + 1 < names.len() {
                format!("{n},")
            } else {
                n.clone()
            };
            if line.len() + item.len() + 1 > 72 && line.len() > 1 {
                out.push_str(line.trim_end());
                out.push('\n');
                line = String::from(" ");
            }
            line.push(' ');
            line.push_str(&item);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(FILES);
    out
}

const HEADER: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
Upstream-Name: vpsc\n\
Source: https://example.org/vpsc\n";

const FILES: &str = "\nFiles: *\n\
Copyright: 2026 vpsc developers\n\
License: GPL-3+\n \
This program is free software: you can redistribute it and/or modify\n \
it under the terms of the GNU General Public License as published by\n \
the Free Software Foundation, either version 3 of the License, or\n \
(at your option) any later version.\n \
.\n \
On Debian systems, the complete text of the GNU General Public\n \
License version 3 can be found in \"/usr/share/common-licenses/GPL-3\".\n";
