//! The source tree keeps its layers: no two top-level modules import each
//! other, directly or around a loop, and no file grows past a size a reader
//! can hold. Read from the source text, as a reviewer would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::harness::{files_under, root};

/// The Rust source files under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

/// The top-level module a file belongs to (`src/filters/quality/x.rs` → `filters`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    first.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string()
}

/// `module → modules it names as crate::<module>`, outside comments and tests.
fn import_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = root().join("src");
    let files = rust_files(&src);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let path = regex::Regex::new(r"crate::([a-z_]+)").expect("pattern");
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let from = module_of(&src, f);
        let text = std::fs::read_to_string(f).expect("source file");
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for c in path.captures_iter(line) {
                let to = c[1].to_string();
                if to != from && modules.contains(&to) {
                    let shown = f.strip_prefix(root()).unwrap_or(f).display().to_string();
                    graph
                        .entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_default()
                        .insert(shown);
                }
            }
        }
    }
    graph
}

#[test]
fn no_import_cycle_crosses_a_top_level_module() {
    let graph = import_graph();
    // Depth-first search for a back edge; the path found is the cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for to in graph.get(m).into_iter().flat_map(|e| e.keys()) {
            match state.get(to.as_str()) {
                Some(1) => {
                    let at = path.iter().position(|p| p == to).unwrap_or(0);
                    let mut cycle = path[at..].to_vec();
                    cycle.push(to.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(to, graph, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if state.contains_key(m.as_str()) {
            continue;
        }
        if let Some(cycle) = visit(m, &graph, &mut state, &mut Vec::new()) {
            let edges: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("{} -> {} ({:?})", w[0], w[1], graph[&w[0]][&w[1]]))
                .collect();
            panic!("import cycle across modules:\n{}", edges.join("\n"));
        }
    }
    // The contract layers stay at the bottom: they import no module that
    // builds on them.
    for (low, high) in [
        ("stage", "filters"),
        ("rules", "ruleset"),
        ("rules", "registry"),
        ("filters", "registry"),
        ("output", "pipeline"),
        ("output", "audit"),
        ("distributed", "cli"),
        ("tag", "cli"),
    ] {
        assert!(
            !graph.get(low).is_some_and(|e| e.contains_key(high)),
            "{low} imports {high}: {:?}",
            graph[low][high]
        );
    }
}

#[test]
fn no_source_file_is_longer_than_800_lines() {
    let files = rust_files(&root().join("src"));
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).expect("source file").lines().count();
            (n > 800).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files: {long:?}");
}
