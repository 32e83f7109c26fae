//! The worker process of the tests: the `pg_worker` example. `cargo test`
//! builds the examples next to the test binaries (`<target>/<profile>/examples/`),
//! so a test finds it from its own path; when it is missing (a run of one
//! test target only) it is built with the cargo that runs the tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The built `pg_worker` example.
pub fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap().to_path_buf();
    let binary =
        profile_dir.join("examples").join(format!("pg_worker{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--example", "pg_worker", "--features", "postgres"]);
        build.current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building the pg_worker example");
    }
    binary
}
