//! Conventions checked by a test rather than remembered: every Rust source file opens with a
//! `//!` line saying what it is for, the sandbox depends on no crate of ours, and the binaries
//! depend on `shared` but never on each other.

use std::path::{Path, PathBuf};

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
    let internal = ["shared", "api", "scheduler", "worker", "sandbox", "testkit"];
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
    found
}

#[test]
fn crates_depend_only_in_the_allowed_directions() {
    assert!(internal_dependencies("sandbox").is_empty());
    assert!(internal_dependencies("shared").is_empty());
    for binary in ["scheduler", "worker"] {
        assert_eq!(internal_dependencies(binary), ["shared"], "{binary}");
    }
    // The api lists a connection's accounts with the worker's connectors (ARCHITECTURE.md,
    // "Departures from the design").
    assert_eq!(internal_dependencies("api"), ["shared", "worker"]);
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
    let missing: Vec<_> = keys
        .iter()
        .filter(|key| !readme.contains(&format!("| `{key}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README's configuration table lacks {missing:?}"
    );
}
