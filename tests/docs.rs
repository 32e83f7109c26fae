//! The documents hold: every test, file and function
//! named in the "proved by" column of `docs/security.md` exists (so a
//! renamed or removed test cannot leave a promise without its proof), and
//! every relative link of the README and the pages under `docs/` resolves.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The `backticked` names of the last cell of each row of the table whose
/// header is `| promise | proved by |`.
fn proofs(doc: &str) -> Vec<String> {
    let mut in_table = false;
    let mut names = Vec::new();
    for line in doc.lines() {
        if line.starts_with("| promise | proved by |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cell = line.trim_end_matches('|').rsplit('|').next().unwrap_or_default();
        names.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    names
}

/// Whether some `.rs` file under `dir` defines `fn name`.
fn defined_under(dir: &Path, name: &str) -> bool {
    let needle = format!("fn {name}(");
    std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            defined_under(&path, name)
        } else {
            path.extension().is_some_and(|e| e == "rs")
                && std::fs::read_to_string(&path).unwrap().contains(&needle)
        }
    })
}

/// Where a name points, or why it points nowhere.
fn check(root: &Path, name: &str, file: &mut Option<PathBuf>) -> Result<(), String> {
    if name.contains(' ') {
        return Ok(()); // a command (`bash fuzz/run.sh [minutes]`), not a name
    }
    let (head, test) = match name.rsplit_once("::") {
        Some((head, test)) => (head, Some(test)),
        None => (name, None),
    };
    if head.contains('/') || head.ends_with(".rs") {
        let path = root.join(head);
        if !path.exists() {
            return Err(format!("`{name}`: no file {head}"));
        }
        *file = Some(path);
    } else if !head.is_empty() {
        let first = head.split("::").next().unwrap();
        let tests = root.join("tests").join(format!("{first}.rs"));
        *file = tests.exists().then_some(tests);
        if file.is_none() && test.is_none() {
            return Err(format!("`{name}`: no tests/{first}.rs"));
        }
    }
    let Some(test) = test.filter(|t| *t != "*") else { return Ok(()) };
    let found = match file {
        Some(path) if path.is_file() => {
            let text = std::fs::read_to_string(&*path).unwrap();
            text.contains(&format!("fn {test}(")) || text.contains(&format!("def {test}("))
        }
        _ => ["core/src", "service/src"].iter().any(|dir| defined_under(&root.join(dir), test)),
    };
    if found {
        Ok(())
    } else {
        Err(format!("`{name}`: no test `{test}`"))
    }
}

#[test]
fn every_test_the_security_page_names_exists() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/security.md")).unwrap();
    let names = proofs(&doc);
    assert!(names.len() > 40, "the promises table was not found: {names:?}");
    let mut file = None;
    let missing: Vec<String> =
        names.iter().filter_map(|name| check(&root, name, &mut file).err()).collect();
    assert!(missing.is_empty(), "docs/security.md names tests that do not exist: {missing:#?}");
}

#[test]
fn a_missing_test_is_reported() {
    let root = root();
    let mut file = None;
    assert!(check(&root, "pg_hardening::no_such_test_anywhere", &mut file).is_err());
    assert!(
        check(&root, "::a_rewrite_by_the_database_owner_breaks_the_keyed_chain", &mut file).is_ok()
    );
    assert!(check(&root, "no_such_file", &mut None).is_err());
    assert!(check(&root, "request::tests::no_such_unit_test", &mut None).is_err());
    assert!(check(&root, "bindings-node/test/missing.test.mjs", &mut None).is_err());
}

/// The relative links of a Markdown text: `](target)`, without the anchor.
fn relative_links(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|t| !t.starts_with("http") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .map(|t| t.split('#').next().unwrap_or(t))
        .collect()
}

#[test]
fn every_relative_link_of_the_readme_and_the_docs_resolves() {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    pages.extend(
        std::fs::read_dir(root.join("docs"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        for link in relative_links(&text) {
            if !page.parent().unwrap().join(link).exists() {
                broken.push(format!("{}: {link}", page.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(pages.len() > 5, "{pages:?}");
    assert!(broken.is_empty(), "links to nothing: {broken:#?}");
    assert_eq!(relative_links("[a](docs/x.md#y) [b](https://e) [c](#z)"), ["docs/x.md"]);
}

/// Every `` (`LORA_EXPORT_…`, N) `` figure in `text`: the variable and N
/// (thousands separators dropped), where N is a whole number.
fn stated_defaults(text: &str) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("(`LORA_EXPORT_") {
        let rest = &text[at + 2..];
        let Some((var, after)) = rest.split_once("`, ") else { continue };
        let figure: String =
            after.chars().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
        if let Ok(n) = figure.trim_end_matches(',').replace(',', "").parse() {
            found.push((var.to_owned(), n));
        }
    }
    found
}

/// The defaults that the option docs of the service, of the Node binding and
/// of its generated `index.d.ts` state are the service's own, each defined
/// once in `ServiceConfig::new` (once `batchSize` said 500 where the service
/// read 2,000).
#[cfg(feature = "postgres")]
#[test]
fn every_stated_default_is_the_services() {
    let d = lora_export::pg::ServiceConfig::new("postgres://");
    let secs = |t: std::time::Duration| t.as_secs();
    let millis = |t: std::time::Duration| t.as_millis() as u64;
    let defaults: Vec<(&str, u64)> = vec![
        ("LORA_EXPORT_BATCH_SIZE", d.batch_size.into()),
        ("LORA_EXPORT_POOL_SIZE", d.pool_size as u64),
        ("LORA_EXPORT_EXPIRY_HOURS", d.expiry_hours.into()),
        ("LORA_EXPORT_SYNC_THRESHOLD", d.sync_threshold.into()),
        ("LORA_EXPORT_RATE_LIMIT", d.rate_limit_per_hour.into()),
        ("LORA_EXPORT_RETENTION_DAYS", d.retention_days.into()),
        ("LORA_EXPORT_MAX_ATTEMPTS", d.max_attempts.into()),
        ("LORA_EXPORT_STALE_AFTER_SECS", secs(d.stale_after)),
        ("LORA_EXPORT_PRESIGN_TTL_SECS", secs(d.presign_ttl)),
        ("LORA_EXPORT_INTERACTIVE_STATEMENT_TIMEOUT_MS", millis(d.interactive_statement_timeout)),
        ("LORA_EXPORT_INTERACTIVE_RATE_LIMIT", d.interactive_rate_per_minute.into()),
        ("LORA_EXPORT_INTERACTIVE_CONCURRENCY", d.interactive_concurrency.into()),
        ("LORA_EXPORT_DOWNLOADS_PER_USER", d.downloads_per_user.into()),
        ("LORA_EXPORT_DOWNLOAD_IDLE_TIMEOUT_SECS", secs(d.download_idle_timeout)),
        ("LORA_EXPORT_MAX_CONVERSATIONS", d.max_conversations.into()),
        ("LORA_EXPORT_MAX_FILE_MB", d.max_file_bytes >> 20),
        ("LORA_EXPORT_STORAGE_QUOTA_MB", d.storage_quota_bytes >> 20),
        ("LORA_EXPORT_MAX_JOBS_PER_USER", d.max_jobs_per_user.into()),
        ("LORA_EXPORT_MAX_QUEUED_JOBS", d.max_queued_jobs.into()),
    ];
    let root = root();
    let mut wrong = Vec::new();
    for file in ["service/src/config.rs", "bindings-node/src/client.rs", "bindings-node/index.d.ts"]
    {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for (var, stated) in stated_defaults(&text) {
            match defaults.iter().find(|(name, _)| *name == var) {
                Some((_, actual)) if *actual != stated => wrong.push(format!(
                    "{file}: {var} says {stated}, the service's default is {actual}"
                )),
                Some(_) => {}
                None => {
                    wrong.push(format!("{file}: {var} states a default this test does not know"))
                }
            }
        }
    }
    assert!(wrong.is_empty(), "stated defaults that are not the service's:\n{}", wrong.join("\n"));
}
