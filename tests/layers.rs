//! The design, checked: the folders of `src/` are layers and data flows one way
//! (model < logs < engine < render < monitor < aws, lambda < bin), files import each
//! other without circles, and a file (or function) stays small enough to hold.
//!
//! The known debts are listed here, and the lists only shrink: an entry that is no longer
//! needed fails the test too, so that whoever pays a debt also strikes it off.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The rank of each top-level folder; a file may import only its own rank or lower.
/// `aws` and `lambda` are both adapters (the SDK edge and the runtime edge).
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("logs", 1),
    ("engine", 2),
    ("render", 3),
    ("monitor", 4),
    ("aws", 5),
    ("lambda", 5),
    ("bin", 6),
];

/// Upward imports still to remove (file, the higher layer it imports).
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// Circles between files still to break, each as its sorted files.
const KNOWN_CIRCLES: &[&[&str]] = &[];

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 120;

/// Files over [`MAX_FILE_LINES`] still to split.
const KNOWN_LONG_FILES: &[&str] = &[];

/// Functions over [`MAX_FN_LINES`] still to split (file, function name).
const KNOWN_LONG_FNS: &[(&str, &str)] = &[
    ("lambda/config.rs", "from_lookup"),
    ("render/markdown.rs", "render"),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every file of `src/` (relative, with `/`) and its text without test code: a file
/// named `tests.rs` is test code, and so is everything from a `#[cfg(test)]` on
/// (the test module comes last in every file).
fn sources() -> BTreeMap<String, String> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|p| {
            let rel = p.strip_prefix(&root).expect("under src/");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let text = fs::read_to_string(&p).expect("a source file is UTF-8");
            let code = match text.find("#[cfg(test)]") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            (rel, code)
        })
        .collect()
}

fn layer_of(file: &str) -> Option<(&'static str, u8)> {
    let top = file.split('/').next()?;
    LAYERS.iter().copied().find(|(name, _)| *name == top)
}

/// The code of a file without comments, strings and char literals (their braces and
/// paths are not code).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                i += 2 + hashes;
                while i < b.len() && !b[i..].starts_with(&close) {
                    if b[i] == b'\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if b.get(i) == Some(&b'\n') {
                        out.push('\n');
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{1f}'), not a lifetime ('a).
                let end = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .map(|p| i + 2 + p)
                } else {
                    let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 1 + ch)
                };
                match end {
                    Some(e) => {
                        out.push_str("' '");
                        i = e + 1;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            _ => {
                let ch = text[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// The crate paths a file names (`crate::engine::analysis::…` → `engine/analysis`),
/// `use` groups included (`crate::{logs::x, engine::y}`), `super::` resolved.
fn imports(file: &str, code: &str) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    // `super::` of `a/b.rs` and of `a/b/mod.rs` is `a`.
    let mut base: Vec<String> = file.split('/').map(str::to_owned).collect();
    base.pop();
    if file.ends_with("/mod.rs") {
        base.pop();
    }
    for tail in after_word(code, "crate::") {
        out.extend(expand(tail));
    }
    for tail in after_word(code, "super::") {
        out.extend(expand(tail).into_iter().map(|path| {
            let mut full = base.clone();
            full.extend(path);
            full
        }));
    }
    out
}

/// What follows each `prefix` that starts a path (not `x::crate::`, not `my_super::`).
fn after_word<'c>(code: &'c str, prefix: &'c str) -> impl Iterator<Item = &'c str> + 'c {
    code.match_indices(prefix).filter_map(move |(start, _)| {
        let prev = code[..start].chars().next_back().unwrap_or(' ');
        let starts = !(prev.is_alphanumeric() || prev == '_' || prev == ':');
        starts.then(|| &code[start + prefix.len()..])
    })
}

/// The debts' rule: nothing found beyond `known` (`what` says what was found), and
/// nothing in `known` that is no longer found (`list` names the list to strike it from).
/// `found` maps each key to what the message shows of it.
fn ratchet<K: Ord + Clone + std::fmt::Debug, D: std::fmt::Debug>(
    found: &BTreeMap<K, D>,
    known: &BTreeSet<K>,
    what: &str,
    list: &str,
) {
    let new: Vec<_> = found.iter().filter(|(k, _)| !known.contains(*k)).collect();
    assert!(new.is_empty(), "{what}: {new:#?}");
    let paid: Vec<_> = known.iter().filter(|k| !found.contains_key(*k)).collect();
    assert!(
        paid.is_empty(),
        "no longer found, strike off {list}: {paid:?}"
    );
}

/// The paths a `use` tail names: `a::b::{c, d::e}` → `[a,b,c]`, `[a,b,d,e]`.
fn expand(tail: &str) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    let mut rest = tail;
    loop {
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        prefix.push(ident.clone());
        rest = &rest[ident.len()..];
        let trimmed = rest.trim_start();
        if let Some(r) = trimmed.strip_prefix("::") {
            let r = r.trim_start();
            if let Some(group) = r.strip_prefix('{') {
                let mut depth = 1;
                let mut end = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                let mut out = Vec::new();
                let inner = &group[..end];
                let mut depth = 0;
                let mut from = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            out.extend(sub(&prefix, &inner[from..i]));
                            from = i + 1;
                        }
                        _ => {}
                    }
                }
                out.extend(sub(&prefix, &inner[from..]));
                return out;
            }
            rest = r;
        } else {
            break;
        }
    }
    vec![prefix]
}

fn sub(prefix: &[String], item: &str) -> Vec<Vec<String>> {
    let item = item.trim();
    if item.is_empty() {
        return Vec::new();
    }
    expand(item)
        .into_iter()
        .map(|p| {
            let mut full = prefix.to_vec();
            full.extend(p.into_iter().filter(|s| s != "self"));
            full
        })
        .collect()
}

/// The file a path lives in: the longest prefix that is a file of `src/`.
fn file_of(path: &[String], files: &BTreeMap<String, String>) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let stem = path[..n].join("/");
        [format!("{stem}.rs"), format!("{stem}/mod.rs")]
            .into_iter()
            .find(|f| files.contains_key(f))
    })
}

/// Which files each file imports. `mod.rs` and `lib.rs` re-export their children, so the
/// circle check leaves them out (`with_parents` false); the layer check keeps them, since
/// a type defined in a `mod.rs` (`monitor::Monitor`) is as much an import as any other.
fn graph_of(
    files: &BTreeMap<String, String>,
    with_parents: bool,
) -> BTreeMap<String, BTreeSet<String>> {
    files
        .iter()
        .map(|(file, text)| {
            let code = code_only(text);
            let deps = imports(file, &code)
                .iter()
                .filter_map(|p| file_of(p, files))
                .filter(|d| {
                    d != file && (with_parents || (!d.ends_with("mod.rs") && d != "lib.rs"))
                })
                .collect();
            (file.clone(), deps)
        })
        .collect()
}

fn graph(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    graph_of(files, false)
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let files = sources();
    let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (file, deps) in graph_of(&files, true) {
        let Some((_, rank)) = layer_of(&file) else {
            continue;
        };
        for dep in deps {
            if let Some((name, dep_rank)) = layer_of(&dep) {
                if dep_rank > rank {
                    found
                        .entry((file.clone(), name.to_owned()))
                        .or_default()
                        .push(dep.clone());
                }
            }
        }
    }
    let known = KNOWN_UPWARD
        .iter()
        .map(|(f, l)| ((*f).to_owned(), (*l).to_owned()))
        .collect();
    ratchet(
        &found,
        &known,
        "a lower layer imports a higher one ((file, layer), what)",
        "KNOWN_UPWARD",
    );
}

/// Strongly connected components of more than one file (Tarjan's algorithm).
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        g: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.g.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn files_import_each_other_without_circles() {
    let found = circles(&graph(&sources()))
        .into_iter()
        .map(|c| (c, ()))
        .collect();
    let known = KNOWN_CIRCLES
        .iter()
        .map(|c| c.iter().map(|f| (*f).to_owned()).collect())
        .collect();
    ratchet(
        &found,
        &known,
        "files import each other in a circle",
        "KNOWN_CIRCLES",
    );
}

#[test]
fn files_stay_small_enough_to_hold() {
    let root = src();
    let mut all = Vec::new();
    rust_files(&root, &mut all);
    let long = all
        .iter()
        .filter_map(|p| {
            let n = fs::read_to_string(p).map_or(0, |t| t.lines().count());
            let rel = p.strip_prefix(&root).expect("under src/");
            (n > MAX_FILE_LINES).then(|| (rel.to_string_lossy().replace('\\', "/"), n))
        })
        .collect();
    let known = KNOWN_LONG_FILES.iter().map(|f| (*f).to_owned()).collect();
    ratchet(
        &long,
        &known,
        &format!("split these before {MAX_FILE_LINES} lines (file, lines)"),
        "KNOWN_LONG_FILES",
    );
}

/// Functions (outside test code) and their length in lines, from `fn` to the brace that
/// closes its body.
fn functions(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let Some(pos) = t.find("fn ") else {
            continue;
        };
        let head = &t[..pos];
        let qualifiers = [
            "pub",
            "pub(crate)",
            "const",
            "async",
            "unsafe",
            "extern",
            "",
        ];
        if !head.split_whitespace().all(|w| qualifiers.contains(&w))
            || (pos > 0 && !t[..pos].ends_with(' '))
        {
            continue;
        }
        let name: String = t[pos + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i32;
        let mut opened = false;
        for (end, l) in lines.iter().enumerate().skip(at) {
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    ';' if !opened && depth == 0 => break,
                    _ => {}
                }
            }
            if opened && depth <= 0 {
                out.push((name.clone(), end - at + 1));
                break;
            }
            if !opened && l.trim_end().ends_with(';') {
                break;
            }
        }
    }
    out
}

#[test]
fn functions_stay_small_enough_to_hold() {
    let mut long = BTreeMap::new();
    for (file, text) in sources() {
        for (name, n) in functions(&code_only(&text)) {
            if n > MAX_FN_LINES {
                long.insert((file.clone(), name), n);
            }
        }
    }
    let known = KNOWN_LONG_FNS
        .iter()
        .map(|(f, n)| ((*f).to_owned(), (*n).to_owned()))
        .collect();
    ratchet(
        &long,
        &known,
        &format!("split these functions before {MAX_FN_LINES} lines ((file, fn), lines)"),
        "KNOWN_LONG_FNS",
    );
}

#[test]
fn the_model_imports_nothing_of_the_crate() {
    for (file, deps) in graph_of(&sources(), true) {
        if file.starts_with("model/") {
            let outside: Vec<_> = deps.iter().filter(|d| !d.starts_with("model/")).collect();
            assert!(outside.is_empty(), "{file} imports {outside:?}");
        }
    }
}

/// The monitor is the invocation without its runtime: it knows neither the Lambda
/// runtime nor any AWS SDK crate (the adapters in `aws/` and `lambda/` do), test code
/// included.
#[test]
fn the_monitor_knows_no_runtime_and_no_sdk() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root.join("monitor"), &mut files);
    assert!(!files.is_empty());
    for p in files {
        let code = code_only(&fs::read_to_string(&p).expect("UTF-8"));
        for crate_name in [
            "lambda_runtime",
            "aws_sdk_",
            "aws_config",
            "aws_smithy",
            "aws_lambda_events",
        ] {
            assert!(
                !code.contains(crate_name),
                "{} uses {crate_name}: that belongs in aws/ or lambda/",
                p.display()
            );
        }
    }
}
