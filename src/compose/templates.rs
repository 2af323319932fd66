//! The thread's templates: the bundled ones (`templates/`, embedded in the binary) and
//! a user's overrides read from a folder once, at load time.
//!
//! A template named `paper.txt.j2` may have per-platform variants `mastodon/paper.txt.j2`,
//! `bluesky/paper.txt.j2`, `x/paper.txt.j2`; the variant wins for its platform. A user's
//! template replaces the bundled one of the same name and its bundled variants, so an
//! override of `paper.txt.j2` applies everywhere unless the user also gives variants.
//! Files whose names start with `_` are partials for `{% include %}`.

use super::ComposeError;
use crate::model::PlatformKind;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The head post's template.
pub const HEAD: &str = "head.txt.j2";
/// The template of one paper's post.
pub const PAPER: &str = "paper.txt.j2";
/// The closing post's template.
pub const CLOSING: &str = "closing.txt.j2";

const NAMES: [&str; 3] = [HEAD, PAPER, CLOSING];

const BUNDLED: &[(&str, &str)] = &[
    (HEAD, include_str!("../../templates/head.txt.j2")),
    (PAPER, include_str!("../../templates/paper.txt.j2")),
    (CLOSING, include_str!("../../templates/closing.txt.j2")),
];

/// Where a template came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    Bundled,
    User(PathBuf),
}

/// The templates a thread is rendered with.
pub struct Templates {
    env: Environment<'static>,
    origins: BTreeMap<String, Origin>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("templates", &self.origins)
            .finish()
    }
}

impl Templates {
    /// The templates bundled with papercast.
    pub fn bundled() -> Templates {
        let mut templates = Templates {
            env: environment(),
            origins: BTreeMap::new(),
        };
        for (name, source) in BUNDLED {
            // The bundled templates are part of the program; a unit test compiles and
            // renders each of them.
            templates
                .add(name, (*source).to_owned(), Origin::Bundled)
                .expect("bundled templates compile");
        }
        templates
    }

    /// The bundled templates with the overrides of `compose.templates_dir`, if it is
    /// set (not empty).
    pub fn from_config(templates_dir: &Path) -> Result<Templates, ComposeError> {
        if templates_dir.as_os_str().is_empty() {
            Ok(Templates::bundled())
        } else {
            Templates::with_overrides(templates_dir)
        }
    }

    /// The bundled templates, overridden by the `*.j2` files in `dir` and in its
    /// `mastodon/`, `bluesky/` and `x/` subfolders.
    pub fn with_overrides(dir: &Path) -> Result<Templates, ComposeError> {
        let mut templates = Templates::bundled();
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        collect_templates(dir, None, &mut files)?;
        for platform in PlatformKind::ALL {
            let sub = dir.join(platform.as_str());
            if sub.is_dir() {
                collect_templates(&sub, Some(platform), &mut files)?;
            }
        }
        files.sort();
        for (name, path) in &files {
            let source =
                std::fs::read_to_string(path).map_err(|source| ComposeError::TemplateFile {
                    path: path.clone(),
                    source,
                })?;
            templates.add(name, source, Origin::User(path.clone()))?;
        }
        // A user's `paper.txt.j2` replaces the bundled `x/paper.txt.j2` too.
        for (name, _) in &files {
            if !name.contains('/') {
                for platform in PlatformKind::ALL {
                    let variant = format!("{platform}/{name}");
                    if templates.origins.get(&variant) == Some(&Origin::Bundled) {
                        templates.env.remove_template(&variant);
                        templates.origins.remove(&variant);
                    }
                }
            }
        }
        super::check_templates(&templates)?;
        Ok(templates)
    }

    fn add(&mut self, name: &str, source: String, origin: Origin) -> Result<(), ComposeError> {
        self.env
            .add_template_owned(name.to_owned(), source)
            .map_err(|error| ComposeError::Template {
                name: describe_origin(name, &origin),
                message: describe_error(&error, &origin),
            })?;
        self.origins.insert(name.to_owned(), origin);
        Ok(())
    }

    /// Renders template `name` (or its variant for `platform`) with `context`.
    pub(crate) fn render(
        &self,
        name: &str,
        platform: PlatformKind,
        context: &impl Serialize,
    ) -> Result<String, ComposeError> {
        let variant = format!("{platform}/{name}");
        let chosen = if self.origins.contains_key(&variant) {
            variant.as_str()
        } else {
            name
        };
        let result = self
            .env
            .get_template(chosen)
            .and_then(|template| template.render(minijinja::value::Serde(context)));
        result.map_err(|error| {
            // An error inside an included partial names the partial.
            let failing = error.name().unwrap_or(chosen);
            let origin = self.origins.get(failing).unwrap_or(&Origin::Bundled);
            ComposeError::Template {
                name: describe_origin(failing, origin),
                message: describe_error(&error, origin),
            }
        })
    }

    /// The names of the templates in use, with where each came from.
    pub fn describe(&self) -> Vec<String> {
        self.origins
            .iter()
            .map(|(name, origin)| describe_origin(name, origin))
            .collect()
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Block tags on lines of their own leave no blank lines behind.
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid");
    env.set_syntax(syntax);
    // A misspelt variable is an error naming the template and line, not empty text.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Posts are plain text.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // `link(url)` / `link(url, "label")`: shown as each platform shows links.
    env.add_function("link", |url: String, label: Option<String>| {
        super::links::mark(&url, label.as_deref())
    });
    env
}

/// Adds the `*.j2` files directly in `dir` to `files`, named as the environment
/// knows them (`paper.txt.j2`, `x/paper.txt.j2`).
fn collect_templates(
    dir: &Path,
    platform: Option<PlatformKind>,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), ComposeError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ComposeError::TemplateFile {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ComposeError::TemplateFile {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !file_name.ends_with(".j2") || path.is_dir() {
            continue;
        }
        if !NAMES.contains(&file_name) && !file_name.starts_with('_') {
            return Err(ComposeError::Template {
                name: path.display().to_string(),
                message: format!(
                    "unknown template `{file_name}`: papercast reads {}, optionally in \
                     mastodon/, bluesky/ or x/, and partials whose names start with `_`; \
                     rename or remove it",
                    NAMES.join(", ")
                ),
            });
        }
        let name = match platform {
            Some(platform) => format!("{platform}/{file_name}"),
            None => file_name.to_owned(),
        };
        files.push((name, path));
    }
    Ok(())
}

fn describe_origin(name: &str, origin: &Origin) -> String {
    match origin {
        Origin::Bundled => format!("{name} (bundled)"),
        Origin::User(path) => path.display().to_string(),
    }
}

fn describe_error(error: &minijinja::Error, origin: &Origin) -> String {
    let what = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    let what = match error.line() {
        Some(line) => format!("line {line}: {what}"),
        None => what,
    };
    match origin {
        Origin::User(_) => format!("{what}; fix the file, or remove it to use the bundled one"),
        Origin::Bundled => what,
    }
}
