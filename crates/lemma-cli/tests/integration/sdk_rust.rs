//! The Rust SDK (`crates/lemma-sdk`) as a crate `cargo package` accepts.

use crate::common;

use std::process::Command;

use common::programs::repo_root;

/// `cargo package` accepts the Rust SDK: every dependency has a version (a path dependency
/// without one is refused), the files it would ship include the README and the sources, and the
/// manifest has the metadata a published crate needs. Nothing is built or published.
#[test]
fn rust_sdk_crate_is_packageable() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        // --allow-dirty: a work tree with uncommitted changes is packaged as it is.
        .args([
            "package",
            "-p",
            "lemma-sdk",
            "--list",
            "--allow-dirty",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("running cargo package");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo package -p lemma-sdk failed:\n{stderr}"
    );
    let files: Vec<&str> = stdout.lines().collect();
    for file in ["Cargo.toml", "README.md", "src/lib.rs"] {
        assert!(files.contains(&file), "{file} is not packaged: {files:?}");
    }
    assert!(
        files.iter().all(|f| !f.starts_with("target/")),
        "build output is packaged: {files:?}"
    );

    let out = Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("running cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "lemma-sdk")
        .expect("no lemma-sdk in cargo metadata");
    for field in ["description", "license", "readme", "rust_version"] {
        assert!(
            package[field].as_str().is_some_and(|v| !v.is_empty()),
            "lemma-sdk's manifest has no {field}"
        );
    }
    assert_eq!(package["license"], "Apache-2.0");
    assert!(
        !package["keywords"].as_array().unwrap().is_empty()
            && !package["categories"].as_array().unwrap().is_empty(),
        "lemma-sdk's manifest has no keywords or categories"
    );
}
