//! Conventions checked by a test rather than remembered: every Rust source file opens with a
//! `//!` line saying what it is for; the crates depend only in the allowed directions (the
//! sandbox on none of ours, the binaries never on each other); no platform is named outside the
//! registry and the platforms' own folders; and the README documents every configuration key.

use std::path::{Path, PathBuf};

use shared::domain::ConnectorKind;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives in the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut files = Vec::new();
    rust_files(&workspace_root(), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).expect("readable file");
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! module doc: {missing:?}"
    );
}

fn internal_dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace_root().join(krate).join("Cargo.toml"))
        .expect("readable manifest");
    let internal = [
        "shared",
        "connectors",
        "api",
        "scheduler",
        "worker",
        "sandbox",
        "testkit",
    ];
    let mut in_dependencies = false;
    let mut found = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies {
            let name = line.split(['.', '=', ' ']).next().unwrap_or_default();
            if internal.contains(&name) {
                found.push(name.to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn crates_depend_only_in_the_allowed_directions() {
    // The sandbox models the platforms independently; shared knows no other crate of ours.
    assert!(internal_dependencies("sandbox").is_empty());
    assert!(internal_dependencies("shared").is_empty());
    // Everything about a platform is in connectors, on top of shared.
    assert_eq!(internal_dependencies("connectors"), ["shared"]);
    // The binaries never depend on each other: the api and the worker reach platforms through
    // connectors; the scheduler never calls a platform.
    assert_eq!(internal_dependencies("scheduler"), ["shared"]);
    for binary in ["api", "worker"] {
        assert_eq!(
            internal_dependencies(binary),
            ["connectors", "shared"],
            "{binary}"
        );
    }
}

#[test]
fn the_readme_documents_every_configuration_key() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let mut keys = Vec::new();
    let mut section = String::new();
    // An empty table holds keys the user names, such as crypto.keys.<id>.
    let mut section_is_empty = false;
    for line in shared::config::DEFAULT_TOML.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if section_is_empty {
                keys.push(format!("{section}.<id>"));
            }
            section = name.to_string();
            section_is_empty = true;
        } else if let Some((key, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            keys.push(format!("{section}.{}", key.trim()));
            section_is_empty = false;
        }
    }
    if section_is_empty {
        keys.push(format!("{section}.<id>"));
    }
    assert!(keys.contains(&"crypto.keys.<id>".to_string()), "{keys:?}");
    // Each platform's section: documented for that platform, or for every `<platform>`.
    for kind in ConnectorKind::ALL {
        for line in connectors::get(kind)
            .config_defaults()
            .lines()
            .map(str::trim)
        {
            if let Some((key, _)) = line.split_once('=')
                && !line.starts_with('#')
            {
                let key = key.trim();
                let generic = format!("connectors.<platform>.{key}");
                if !readme.contains(&format!("| `{generic}` |")) {
                    keys.push(format!("connectors.{kind}.{key}"));
                }
            }
        }
    }
    let missing: Vec<_> = keys
        .iter()
        .filter(|key| !readme.contains(&format!("| `{key}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's configuration table lacks {missing:?}"
    );
}

/// The lines of a Rust file before its `#[cfg(test)]` module.
fn code_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("readable file");
    text.lines()
        .take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn only_the_registry_and_a_platforms_own_folder_name_the_platform() {
    let root = workspace_root();
    let mut files = Vec::new();
    for krate in ["shared", "connectors", "api", "worker", "scheduler"] {
        rust_files(&root.join(krate).join("src"), &mut files);
    }
    let registry = root.join("shared/src/domain/kinds.rs");
    let mut offenders = Vec::new();
    for kind in ConnectorKind::ALL {
        let own_folder = root.join("connectors/src").join(kind.as_str());
        let names = [format!("ConnectorKind::{kind:?}"), format!("\"{kind}")];
        for file in files
            .iter()
            .filter(|file| **file != registry && !file.starts_with(&own_folder))
        {
            for line in code_lines(file) {
                if names.iter().any(|name| line.contains(name.as_str())) {
                    offenders.push(format!("{}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "platforms named outside the registry and their folders:\n{}",
        offenders.join("\n")
    );
}
