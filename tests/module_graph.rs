//! Imports point one way. Between crates cargo sees to it (the core cannot
//! name the service: it does not depend on it); within each crate of the
//! workspace's library layers (`core/src`, `service/src`) the top-level
//! modules may form no circle beyond the ones listed in [`KNOWN_CIRCLES`],
//! which shrinks as circles go. A new circle fails this test, and so does a
//! listed one that is gone (so the list only shrinks).
//!
//! A module depends on another when one of its files names it through a
//! `crate::`, `super::` or `self::` path, or through a name re-exported by
//! the crate's `lib.rs` (resolved to the module that defines it). Doc
//! comments and test code (`#[cfg(test)]` onwards, `tests.rs`,
//! `test_fixture.rs`) do not count. Within a listed circle a new edge goes
//! unseen; a module joining it, or a new circle, does not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The circles left, per crate, each the modules of one strongly connected
/// component, sorted: none since the crate split.
const KNOWN_CIRCLES: &[(&str, &[&str])] = &[];

/// The layers of each crate, lowest first: a module may name modules of its
/// own layer or below, never above. The core: error ← model ←
/// {request, scope, source, format, tokens, …} ← pipeline ← dataset; the
/// service: db ← storage ← its options (config) ← auth, limits, events ←
/// the service's state ← jobs ← api ← ops.
const LAYERS: &[(&str, &[&[&str]])] = &[
    (
        "core",
        &[
            &["error", "digest", "atomic", "compress"],
            &["model"],
            &["request", "scope", "source", "format", "tokens", "summary", "validate", "audit"],
            &["pipeline"],
            &["dataset"],
        ],
    ),
    (
        "service",
        &[
            &["error", "secret", "schedules"],
            &["db"],
            &["storage"],
            &["config"],
            &["auth", "limits", "events"],
            &["service"],
            &["jobs"],
            &["api"],
            &["ops"],
        ],
    ),
];

/// The library crates whose modules are checked, by directory.
const CRATES: &[&str] = &["core", "service"];

fn src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `root`: `api/download.rs` is
/// `[api, download]`, `api/mod.rs` is `[api]`, `lib.rs` is `[]`.
fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(root).unwrap();
    let mut parts: Vec<String> =
        relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// The graph's node of a module path: the top-level module.
fn node(path: &[String]) -> Option<String> {
    path.first().cloned()
}

/// Names re-exported by a `mod.rs`/`lib.rs` text, with the module each comes
/// from: `pub use error::{Error, ErrorKind}` maps both names to `error`.
fn reexports(text: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in statements(text, "pub use ") {
        for path in flatten(&statement) {
            let segments: Vec<&str> = path.split("::").collect();
            if let (Some(first), Some(last)) = (segments.first(), segments.last()) {
                names.insert((*last).to_owned(), (*first).to_owned());
            }
        }
    }
    names
}

/// The `use` statements of a text (those starting with `prefix`, after any
/// visibility when `prefix` is `use `), up to their `;`, without white space.
fn statements(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut open: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_start();
        let body = match open.take() {
            Some(started) => Some(started + line),
            None => {
                let visible = ["pub(crate) ", "pub(super) ", "pub "]
                    .iter()
                    .find_map(|v| line.strip_prefix(v))
                    .filter(|_| prefix == "use ")
                    .unwrap_or(line);
                visible.strip_prefix(prefix).map(str::to_owned)
            }
        };
        let Some(body) = body else { continue };
        match body.find(';') {
            Some(end) => out.push(body[..end].split_whitespace().collect()),
            None => open = Some(body),
        }
    }
    out
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn flatten(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect();
    let (Some(open), Some(close)) = (tree.find('{'), tree.rfind('}')) else { return vec![tree] };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..close.max(open + 1)];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| flatten(&format!("{prefix}{p}")))
        .collect()
}

/// Every path a file names that starts with `crate::`, `super::` or `self::`
/// (in `use` statements, braces flattened, and inline in code).
fn named_paths(text: &str) -> Vec<String> {
    // A module's own tests may reach anywhere: only what it builds counts.
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut paths: Vec<String> = statements(text, "use ").iter().flat_map(|s| flatten(s)).collect();
    let code: String = text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with("use ") && !l.starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for root in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(root) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            paths.push(tail[..end].trim_end_matches(':').to_owned());
            rest = &tail[end..];
        }
    }
    paths
}

/// The module path `path` points into, seen from the module `from`, with the
/// crate's re-exported names resolved.
fn resolve(
    from: &[String],
    path: &str,
    root_names: &BTreeMap<String, String>,
) -> Option<Vec<String>> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let mut base: Vec<String> = match segments.next()? {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    for segment in segments {
        if segment == "super" {
            base.pop();
        } else {
            base.push(segment.to_owned());
        }
    }
    match base.as_slice() {
        [name, ..] if root_names.contains_key(name) => Some(vec![root_names[name].clone()]),
        _ => Some(base),
    }
}

/// The edges between the top-level modules of a crate, read from its sources.
fn graph(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let root = src(krate);
    let root_names = reexports(&std::fs::read_to_string(root.join("lib.rs")).unwrap());
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5, "{}: no sources found", root.display());
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_path(&root, &file);
        if from.last().is_some_and(|m| m == "tests" || m == "test_fixture") {
            continue;
        }
        let Some(source) = node(&from) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for path in named_paths(&text) {
            let target = resolve(&from, &path, &root_names).and_then(|p| node(&p));
            if let Some(target) = target.filter(|t| *t != source) {
                edges.entry(source.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// The strongly connected components of more than one node, each sorted.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.keys().chain(edges.values().flatten()).collect();
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            for next in edges.get(n).into_iter().flatten() {
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<&String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    nodes
        .iter()
        .map(|n| {
            nodes
                .iter()
                .filter(|m| reachable[*n].contains(*m) && reachable[*m].contains(*n))
                .map(|m| (*m).clone())
                .collect::<Vec<_>>()
        })
        .filter(|component| component.len() > 1)
        .collect()
}

#[test]
fn no_new_circle_between_modules() {
    let found: BTreeSet<(String, Vec<String>)> = CRATES
        .iter()
        .flat_map(|k| circles(&graph(k)).into_iter().map(|c| ((*k).to_owned(), c)))
        .collect();
    let known: BTreeSet<(String, Vec<String>)> = KNOWN_CIRCLES
        .iter()
        .map(|(k, c)| ((*k).to_owned(), c.iter().map(|m| (*m).to_owned()).collect()))
        .collect();
    assert_eq!(
        found, known,
        "the module circles changed: a new one is a dependency pointing the wrong way (move the \
         shared piece below both); a listed one that is gone comes off KNOWN_CIRCLES"
    );
}

#[test]
fn imports_point_down_the_layers() {
    let mut upward = Vec::new();
    for (krate, layers) in LAYERS {
        let layer = |module: &str| layers.iter().position(|l| l.contains(&module));
        for (from, targets) in graph(krate) {
            let Some(from_layer) = layer(&from) else {
                upward.push(format!("{krate}: module `{from}` is in no layer of LAYERS"));
                continue;
            };
            for to in targets {
                match layer(&to) {
                    Some(to_layer) if to_layer <= from_layer => {}
                    Some(_) => {
                        upward.push(format!("{krate}: `{from}` imports `{to}`, a layer above"))
                    }
                    None => upward.push(format!("{krate}: module `{to}` is in no layer of LAYERS")),
                }
            }
        }
    }
    assert!(upward.is_empty(), "imports that point up (move the shared piece down): {upward:#?}");
}

#[test]
fn the_graph_sees_paths_through_braces_super_and_reexports() {
    assert_eq!(flatten("crate::{a::X, b::{c, d}}"), ["crate::a::X", "crate::b::c", "crate::b::d"]);
    let from: Vec<String> = ["api", "download"].map(String::from).to_vec();
    let names = BTreeMap::from([
        ("Result".to_owned(), "error".to_owned()),
        ("Database".to_owned(), "db".to_owned()),
    ]);
    let resolve = |p: &str| resolve(&from, p, &names).and_then(|p| node(&p));
    assert_eq!(resolve("super::super::storage::Storage").as_deref(), Some("storage"));
    assert_eq!(resolve("crate::Database").as_deref(), Some("db"));
    assert_eq!(resolve("crate::Result").as_deref(), Some("error"));
    assert_eq!(resolve("serde::Serialize"), None);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges.entry(a.into()).or_default().insert(b.into());
    }
    assert_eq!(circles(&edges), BTreeSet::from([vec!["a".into(), "b".into(), "c".into()]]));
}
