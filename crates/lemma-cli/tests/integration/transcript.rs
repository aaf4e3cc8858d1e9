//! `lemma run --transcript`: a long run read as a paged conversation.

use crate::common;

use common::{fixtures, Server};

#[test]
fn a_long_run_reads_as_a_paged_transcript() {
    let server = Server::start();
    for r in fixtures::load("long_run") {
        let resp = fixtures::replay_http(&server, &r);
        assert_eq!(resp.status(), 200, "{:?}", resp.text());
    }
    let runs = server.all_runs("");
    assert_eq!(runs.len(), 1);
    let id = runs[0]["run_id"].as_str().unwrap().to_string();
    let page = |extra: &[&str]| {
        let mut args = vec!["run", id.as_str(), "--transcript", "--max-chars", "4000"];
        args.extend_from_slice(extra);
        let (success, out, err) = server.cli(&args);
        assert!(success, "lemma {args:?} failed: {err}\n{out}");
        out
    };

    let first = page(&[]);
    assert!(first.chars().count() <= 4000, "{first}");
    assert!(
        first.starts_with(&format!("run {id} · invoke_agent coding_agent")),
        "{first}"
    );
    assert!(
        first.contains("\nUser: Fix the failing billing tests in this repository.\n"),
        "{first}"
    );
    // The last line of a cut page: "… R more steps (steps A–B of N shown): ask with offset=B".
    let footer = |text: &str| -> Option<(usize, usize)> {
        let last = text.lines().last()?;
        let range = last.split("(steps ").nth(1)?.split(" of ").next()?;
        let (a, b) = range.split_once('–')?;
        let next: usize = last.split("ask with offset=").nth(1)?.parse().ok()?;
        assert_eq!(b.parse::<usize>().ok(), Some(next), "{last}");
        Some((a.parse().ok()?, next))
    };
    let (a, mut next) = footer(&first).unwrap_or_else(|| panic!("the first page is cut:\n{first}"));
    assert_eq!(a, 1);

    // `--offset` goes on where the last page stopped, until a page reaches the end.
    let mut pages = vec![first];
    loop {
        let text = page(&["--offset", &next.to_string()]);
        assert!(text.chars().count() <= 4000, "{text}");
        let cut = footer(&text);
        pages.push(text);
        assert!(pages.len() < 100, "paging does not end");
        match cut {
            Some((a, b)) => {
                assert_eq!(a, next + 1, "pages follow each other");
                next = b;
            }
            None => break,
        }
    }
    assert!(pages.len() >= 2);
    let all = pages.concat();
    assert_eq!(
        all.matches("× 12 identical read_file calls").count(),
        1,
        "{all}"
    );
    assert_eq!(
        all.matches("× 8 identical run_tests calls").count(),
        1,
        "{all}"
    );
    assert_eq!(
        all.matches("the failure is in tax rounding").count(),
        1,
        "{all}"
    );
    assert!(pages
        .last()
        .unwrap()
        .contains("the failure is in tax rounding"));

    // The tree of a run short enough to read whole is not paged.
    let (success, _, err) = server.cli(&["run", &id, "--offset", "3"]);
    assert!(!success && err.contains("--transcript"), "{err}");
}
