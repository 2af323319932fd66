//! Holds the direction rule of ARCHITECTURE.md: reads its list of layers and every
//! `crate::…` path in `src/`, and fails when a module imports one of a higher layer,
//! when a module is in no layer, or when a layer names a module that does not exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers of ARCHITECTURE.md, lowest first: `(module, rank)`.
fn layers() -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let section = text
        .split("## Layers")
        .nth(1)
        .expect("ARCHITECTURE.md has a `## Layers` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut layers = BTreeMap::new();
    for line in section.lines() {
        // `12. `replies` — …`
        let Some((number, rest)) = line.split_once(". `") else {
            continue;
        };
        let Ok(rank) = number.trim().parse::<usize>() else {
            continue;
        };
        let name = rest.split('`').next().unwrap_or_default();
        assert!(
            layers.insert(name.to_owned(), rank).is_none(),
            "ARCHITECTURE.md lists `{name}` twice"
        );
    }
    assert!(layers.len() > 5, "no layers read from ARCHITECTURE.md");
    layers
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file of `src/` belongs to: its first path component (`cli` for the
/// binary's files); `None` for the crate root.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" => None,
        "main.rs" => Some("cli".into()),
        name => Some(name.trim_end_matches(".rs").to_owned()),
    }
}

/// The top-level modules a file's code names through `crate::` (comment lines
/// skipped), each with its line; a `use crate::{…}` group may span lines.
fn imports(source: &str) -> Vec<(usize, String)> {
    let code: String = source
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        from = start + "crate::".len();
        let rest = &code[from..];
        let Some(group) = rest.strip_prefix('{') else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push((line_of(start), name));
            continue;
        };
        // `use crate::{a::X, b};`: the names at the group's top level.
        let mut depth = 0;
        let mut name = String::new();
        let mut expect_name = true;
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => expect_name = true,
                c if expect_name && depth == 0 && (c.is_alphanumeric() || c == '_') => name.push(c),
                _ if !name.is_empty() => {
                    found.push((line_of(start), std::mem::take(&mut name)));
                    expect_name = false;
                }
                _ => {}
            }
        }
        if !name.is_empty() {
            found.push((line_of(start), name));
        }
    }
    found
}

/// Every import in `source` (a file of `module`) that points to a higher layer.
fn violations(
    layers: &BTreeMap<String, usize>,
    file: &str,
    module: &str,
    source: &str,
) -> Vec<String> {
    let Some(&rank) = layers.get(module) else {
        return vec![format!(
            "{file}: module `{module}` is in no layer of ARCHITECTURE.md; add it to the list"
        )];
    };
    imports(source)
        .into_iter()
        .filter_map(|(line, target)| {
            let &target_rank = layers.get(&target)?;
            (target_rank > rank).then(|| {
                format!(
                    "{file}:{line}: `{module}` (layer {rank}) imports `{target}` (layer \
                     {target_rank}); a layer imports only lower ones (ARCHITECTURE.md)"
                )
            })
        })
        .collect()
}

#[test]
fn layers_import_only_lower_layers() {
    let layers = layers();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in &files {
        let relative = path.strip_prefix(&src).expect("under src");
        let Some(module) = module_of(relative) else {
            continue;
        };
        seen.insert(module.clone());
        let source = std::fs::read_to_string(path).expect("reading a source file");
        let file = format!("src/{}", relative.display());
        problems.extend(violations(&layers, &file, &module, &source));
    }
    for name in layers.keys() {
        if !seen.contains(name) {
            problems.push(format!(
                "ARCHITECTURE.md lists `{name}`, but src/ has no such module"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn an_import_that_points_up_is_caught_in_every_spelling() {
    let layers = layers();
    for source in [
        "use crate::platform::LengthRules;",
        "use crate::{model::Announcement, platform::Secret};",
        "use crate::{\n    platform::{Platform, PlatformError},\n};",
        "    let x = crate::platform::retry_at(&h, now);",
    ] {
        let found = violations(&layers, "src/store/x.rs", "store", source);
        assert_eq!(found.len(), 1, "{source}: {found:?}");
        assert!(found[0].contains("imports `platform`"), "{}", found[0]);
    }
    let found = violations(
        &layers,
        "src/platform/x.rs",
        "platform",
        "use crate::store::Store;",
    );
    assert!(found.is_empty(), "a downward import is allowed: {found:?}");
    let found = violations(&layers, "src/gadget.rs", "gadget", "");
    assert!(found[0].contains("in no layer"), "{found:?}");
}

#[test]
fn no_platform_name_is_matched_outside_platform_kind() {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for path in files {
        if path.ends_with("model/platform.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("reading a source file");
        for (number, line) in source.lines().enumerate() {
            let names_a_network = ["\"mastodon\"", "\"bluesky\"", "\"x\""]
                .iter()
                .any(|name| line.contains(&format!("{name} =>")));
            let defaults_to_one = line.contains("_ => PlatformKind::");
            if names_a_network || defaults_to_one {
                problems.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "network names are read by PlatformKind::from_str only:\n{}",
        problems.join("\n")
    );
}
