//! Prometheus' text exposition format (version 0.0.4), as node-exporter's
//! textfile collector reads it: every family has its HELP and TYPE, names
//! follow Prometheus' conventions (checked here, so a bad name is a bug
//! caught by the tests, never a file the collector rejects at 3 a.m.).

use std::fmt::Write as _;

/// The TYPE of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A total that only grows (name ends in `_total`).
    Counter,
}

/// One metric family: a name, its help, and its samples.
#[derive(Debug, Clone)]
pub struct Family {
    name: String,
    help: String,
    kind: Kind,
    samples: Vec<(Vec<(String, String)>, f64)>,
}

impl Family {
    /// A gauge. `name` must be a valid metric name with its unit as
    /// suffix (`_seconds`, `_bytes`, `_ratio`…).
    pub fn gauge(name: &str, help: &str) -> Family {
        Family::new(name, help, Kind::Gauge)
    }

    /// A counter; `name` ends in `_total`.
    pub fn counter(name: &str, help: &str) -> Family {
        debug_assert!(
            name.ends_with("_total"),
            "counter {name} must end in _total"
        );
        Family::new(name, help, Kind::Counter)
    }

    fn new(name: &str, help: &str, kind: Kind) -> Family {
        debug_assert!(valid_name(name), "invalid metric name {name}");
        Family {
            name: name.to_owned(),
            help: help.to_owned(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a sample with these labels (names checked, values escaped).
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Family {
        debug_assert!(
            labels.iter().all(|(n, _)| valid_label(n)),
            "invalid label name in {labels:?}"
        );
        self.samples.push((
            labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            value,
        ));
        self
    }

    /// Adds a sample without labels.
    pub fn value(&mut self, value: f64) -> &mut Family {
        self.sample(&[], value)
    }

    /// The family's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether it has no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Appends the family in text format to `out`.
    pub fn render(&self, out: &mut String) {
        let kind = match self.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(&self.help));
        let _ = writeln!(out, "# TYPE {} {kind}", self.name);
        for (labels, value) in &self.samples {
            out.push_str(&self.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (n, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{n}=\"{}\"", escape_value(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(*value));
        }
    }
}

/// A whole file: the families in order.
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        f.render(&mut out);
    }
    out
}

/// A sample value as the text format writes it.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Whether `name` is a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Whether `name` is a label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not `__`-prefixed.
pub fn valid_label(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_help_type_and_escaped_labels() {
        let mut f = Family::gauge("vpsc_test_seconds", "A test\\help.");
        f.sample(&[("path", "/etc/\"x\"\n")], 1.5).value(2.0);
        let mut out = String::new();
        f.render(&mut out);
        assert_eq!(
            out,
            "# HELP vpsc_test_seconds A test\\\\help.\n# TYPE vpsc_test_seconds gauge\n\
             vpsc_test_seconds{path=\"/etc/\\\"x\\\"\\n\"} 1.5\nvpsc_test_seconds 2\n"
        );
    }

    #[test]
    fn names_follow_prometheus() {
        assert!(valid_name("vpsc_health_status"));
        assert!(!valid_name("1abc"));
        assert!(!valid_name("vpsc-health"));
        assert!(valid_label("module"));
        assert!(!valid_label("__name__"));
        assert!(!valid_label("a:b"));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
    }
}
