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
