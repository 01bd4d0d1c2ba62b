//! The house, checked from the code as a newcomer reads it: every `use` (braced trees too) and
//! every `crate::`/`super::` path outside test modules is resolved to the module it names, and
//!
//! - each layer imports only the layers below it (`LAYERS`): the domain model is a leaf, the
//!   timeline and config reach only the model, the pure core never reaches a backend, storage,
//!   the runtime or the screen, and nothing but the command line reaches the runtime;
//! - no group of modules imports each other in a loop (a module may use its parent: the parent
//!   declares it, they are one small module);
//! - no source file is over 600 lines (blank lines and test modules aside);
//! - the pure core does no I/O and reads no clock.
//!
//! Each failure names the file and what it imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// What each top-level module may import (besides itself). `lib` is the crate root.
const LAYERS: &[(&str, &[&str])] = &[
    ("text", &[]),
    ("files", &[]),
    ("model", &["text"]),
    ("timeline", &["model", "text"]),
    ("config", &["model", "text", "files"]),
    ("store", &["model", "timeline", "text", "files"]),
    ("backend", &["model", "timeline", "store", "text", "files"]),
    ("app", &["model", "timeline", "config", "text"]),
    ("ui", &["app", "model", "timeline", "config", "text"]),
    ("runtime", &["app", "backend", "model", "timeline", "config", "store", "text", "ui", "files"]),
    ("cli", &["runtime", "app", "backend", "model", "timeline", "config", "store", "text", "ui", "files"]),
];

/// The most lines (not blank, outside test modules) a source file may have.
const MAX_LINES: usize = 600;

type Module = Vec<String>;

struct Crate {
    /// Module path -> file.
    files: BTreeMap<Module, PathBuf>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

impl Crate {
    fn read() -> Crate {
        let root = src();
        let mut files = BTreeMap::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let rel = p.strip_prefix(&root).unwrap().with_extension("");
                    let mut m: Module = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
                    if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                        m.pop();
                    }
                    files.insert(m, p);
                }
            }
        }
        Crate { files }
    }

    fn name(&self, m: &Module) -> String {
        self.files[m].strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap().display().to_string()
    }

    /// The module a path names, seen from `from`: the longest prefix that is a module file.
    fn resolve(&self, from: &Module, segs: &[String]) -> Option<Module> {
        let (mut base, rest): (Module, &[String]) = match segs.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &segs[1..]),
            Some("super") => {
                let mut base = from.clone();
                let mut rest = segs;
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            Some("self") => (from.clone(), &segs[1..]),
            Some(first) => {
                // A child module declared in this file (`use faults::x` inside kube/mod.rs).
                let mut child = from.clone();
                child.push(first.to_string());
                if !self.files.contains_key(&child) {
                    return None;
                }
                (from.clone(), segs)
            }
            None => return None,
        };
        let mut best = self.files.contains_key(&base).then(|| base.clone());
        for s in rest {
            base.push(s.clone());
            if self.files.contains_key(&base) {
                best = Some(base.clone());
            } else {
                break;
            }
        }
        best
    }
}

/// Every path a file names (use trees expanded, and paths in code), test modules left out.
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
}

fn expand(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            expand(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => out.push(prefix.clone()),
        syn::UseTree::Name(n) => out.push([prefix.clone(), vec![n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) => out.push([prefix.clone(), vec![r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                expand(t, prefix, out);
            }
        }
    }
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| m.path().is_ident("test"))
            || a.path().is_ident("test")
    })
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        expand(&u.tree, &mut Vec::new(), &mut self.found);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if matches!(segs.first().map(String::as_str), Some("crate" | "super")) {
            self.found.push(segs);
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Paths inside macro calls (format!, matches!, ...) are tokens: read them as paths.
        let text = m.tokens.to_string();
        for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == ' ')) {
            let word: String = word.split_whitespace().collect();
            if word.starts_with("crate::") || word.starts_with("super::") {
                self.found.push(word.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect());
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

/// The file's text without its test modules, and its non-blank line count.
fn parse(path: &Path) -> (syn::File, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Lines up to the first test module (test modules come last).
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let lines = code.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//")).count();
    (file, lines)
}

struct Graph {
    krate: Crate,
    /// Module -> the modules it imports (not itself, not its ancestors), with the path said.
    edges: BTreeMap<Module, BTreeMap<Module, String>>,
    lines: BTreeMap<Module, usize>,
    sources: BTreeMap<Module, String>,
}

fn graph() -> Graph {
    let krate = Crate::read();
    let mut edges: BTreeMap<Module, BTreeMap<Module, String>> = BTreeMap::new();
    let mut lines = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for (m, path) in &krate.files {
        let (file, n) = parse(path);
        lines.insert(m.clone(), n);
        let text = std::fs::read_to_string(path).unwrap();
        sources.insert(m.clone(), text.split("#[cfg(test)]").next().unwrap_or_default().to_string());
        let mut paths = Paths::default();
        paths.visit_file(&file);
        let out = edges.entry(m.clone()).or_default();
        for p in paths.found {
            let Some(to) = krate.resolve(m, &p) else { continue };
            let ancestor = to.len() < m.len() && m[..to.len()] == to[..];
            if to != *m && !ancestor {
                out.entry(to).or_insert_with(|| p.join("::"));
            }
        }
    }
    Graph { krate, edges, lines, sources }
}

fn top(m: &Module) -> &str {
    m.first().map(String::as_str).unwrap_or("lib")
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let g = graph();
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        let layer = top(from);
        if layer == "lib" || layer == "main" {
            continue;
        }
        let ok =
            allowed.get(layer).unwrap_or_else(|| panic!("{}: a layer the table does not know", g.krate.name(from)));
        for (to, said) in tos {
            if top(to) != layer && !ok.contains(&top(to)) {
                wrong.push(format!("{} ({layer}) imports {said} ({})", g.krate.name(from), top(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers:\n{}", wrong.join("\n"));
}

#[test]
fn the_domain_model_is_a_leaf() {
    let g = graph();
    let wrong: Vec<String> = g
        .edges
        .iter()
        .filter(|(from, _)| top(from) == "model")
        .flat_map(|(from, tos)| {
            tos.iter()
                .filter(|(to, _)| !matches!(top(to), "model" | "text"))
                .map(|(_, said)| format!("{} imports {said}", g.krate.name(from)))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(wrong.is_empty(), "src/model must import nothing but itself and crate::text:\n{}", wrong.join("\n"));
}

#[test]
fn no_modules_import_each_other_in_a_loop() {
    let g = graph();
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<Module, BTreeMap<Module, String>>,
        index: BTreeMap<Module, usize>,
        low: BTreeMap<Module, usize>,
        stack: Vec<Module>,
        on: BTreeSet<Module>,
        next: usize,
        sccs: Vec<Vec<Module>>,
    }
    impl T<'_> {
        fn strong(&mut self, v: &Module) {
            self.index.insert(v.clone(), self.next);
            self.low.insert(v.clone(), self.next);
            self.next += 1;
            self.stack.push(v.clone());
            self.on.insert(v.clone());
            for w in self.edges.get(v).map(|e| e.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                if !self.index.contains_key(&w) {
                    self.strong(&w);
                    let l = self.low[v].min(self.low[&w]);
                    self.low.insert(v.clone(), l);
                } else if self.on.contains(&w) {
                    let l = self.low[v].min(self.index[&w]);
                    self.low.insert(v.clone(), l);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(&w);
                    let done = w == *v;
                    comp.push(w);
                    if done {
                        break;
                    }
                }
                if comp.len() > 1 {
                    self.sccs.push(comp);
                }
            }
        }
    }
    let mut t = T {
        edges: &g.edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for m in g.krate.files.keys() {
        if !t.index.contains_key(m) {
            t.strong(m);
        }
    }
    let loops: Vec<String> =
        t.sccs.iter().map(|c| c.iter().map(|m| g.krate.name(m)).collect::<Vec<_>>().join(", ")).collect();
    assert!(loops.is_empty(), "modules that import each other in a loop:\n{}", loops.join("\n"));
}

#[test]
fn no_source_file_is_over_600_lines() {
    let g = graph();
    let big: Vec<String> = g
        .lines
        .iter()
        .filter(|(_, n)| **n > MAX_LINES)
        .map(|(m, n)| format!("{}: {n} lines", g.krate.name(m)))
        .collect();
    assert!(big.is_empty(), "files over {MAX_LINES} lines (tests and blank lines aside):\n{}", big.join("\n"));
}

#[test]
fn the_core_is_pure() {
    let g = graph();
    let banned = [
        "tokio",
        "std::fs",
        "std::net",
        "std::process",
        "std::thread",
        "Utc::now",
        "Local::now",
        "Instant::now",
        "SystemTime",
        "std::env",
    ];
    let mut found = Vec::new();
    for (m, text) in g.sources.iter().filter(|(m, _)| top(m) == "app") {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for b in banned.iter().filter(|b| code.contains(**b)) {
                found.push(format!("{}:{}: {b}: {}", g.krate.name(m), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "src/app must stay pure (no I/O, no clock):\n{}", found.join("\n"));
}

/// The checks see what they are meant to: a layer crossing written as a braced use tree, a
/// path in code and one inside a macro are all found.
#[test]
fn the_resolver_sees_braced_trees_inline_paths_and_macros() {
    let krate = Crate::read();
    let file: syn::File = syn::parse_str(
        "use crate::{model::{Target, fault::FaultSpec}, store::journal};\n\
         fn f() { let _ = crate::timeline::report::render(&[]); println!(\"{}\", crate::text::one_line(\"x\")); }\n\
         #[cfg(test)] mod tests { use crate::runtime::run; }",
    )
    .unwrap();
    let mut paths = Paths::default();
    paths.visit_file(&file);
    let from: Module = vec!["app".into(), "x".into()];
    let mut tops: Vec<String> =
        paths.found.iter().filter_map(|p| krate.resolve(&from, p)).map(|m| m.join("::")).collect();
    tops.sort();
    tops.dedup();
    assert_eq!(tops, ["model", "model::fault", "store::journal", "text", "timeline::report"]);
}
