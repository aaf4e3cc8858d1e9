//! The coding agent on the invoicing service: a crash fix, an explanation, a new CLI option.

use rand::rngs::StdRng;
use serde_json::json;

use super::repo::{self, CLI, DISCOUNTS};
use crate::demo::agent::{call, Agent, Context, CLAUDE_HAIKU_4_5, CLAUDE_SONNET_4_5};
use crate::demo::spec::SpanSpec;

pub const AGENT: &str = "coding-agent";

pub const SYSTEM: &str = "You are a coding agent working in the fernhill/ledger repository \
(Python 3.12, pytest). Use the tools to read, search and edit files and to run the tests. Make \
the smallest change that fixes the problem, keep the test suite green, and explain what you \
changed.";

pub fn context(user: &'static str, environment: &'static str, ticket: &'static str) -> Context {
    Context {
        user: Some(user),
        environment: Some(environment),
        metadata: vec![("repo", repo::REPO), ("ticket", ticket)],
        ..Context::default()
    }
}

/// pytest's answer while the discount rounding bug is still there.
pub const STACKED_DISCOUNT_FAILURE: &str = r#"=================================== FAILURES ===================================
______________________ test_totals_with_stacked_discounts ______________________

    def test_totals_with_stacked_discounts():
        inv = Invoice([Line("B", Decimal("21.45"))], discounts=[pct("10")], region="US-NH")
>       assert inv.total == Decimal("19.31")
E       AssertionError: assert Decimal('19.30') == Decimal('19.31')
E        +  where Decimal('19.30') = <ledger.invoices.Invoice object at 0x7f3a1c2b9d50>.total

tests/test_invoices.py:18: AssertionError
=========================== short test summary info ============================
FAILED tests/test_invoices.py::test_totals_with_stacked_discounts - AssertionError: assert Decimal('19.30') == Decimal('19.31')"#;

fn read(path: &str, ms: u64) -> crate::demo::agent::Call {
    call(
        "read_file",
        json!({"path": path}),
        json!(repo::file(path)),
        ms,
    )
}

pub fn export_crash(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, CLAUDE_SONNET_4_5, SYSTEM);
    a.user(
        "`ledger export` crashes with KeyError: 'currency' on the production data. Fix it so old \
         invoices export too.",
    );
    a.act(
        "I'll find where the currency field is read.",
        vec![call(
            "grep",
            json!({"pattern": "[\"currency\"]", "path": "src"}),
            json!(repo::grep("[\"currency\"]", "src")),
            90,
        )],
    );
    a.act("", vec![read(CLI, 40), read("src/ledger/store.py", 35)]);
    a.act(
        "store.py says records written before 2022 have no currency field, and every invoice \
         we have ever issued is in USD. Defaulting to USD for those.",
        vec![call(
            "edit_file",
            json!({
                "path": CLI,
                "old_str": "\"currency\": inv[\"currency\"]",
                "new_str": "\"currency\": inv.get(\"currency\", \"USD\")"
            }),
            json!("Edited src/ledger/cli.py: 1 replacement."),
            60,
        )],
    );
    a.act(
        "",
        vec![call(
            "run_tests",
            json!({"path": "tests"}),
            json!(format!(
                ".F...                                                                    [100%]\n{STACKED_DISCOUNT_FAILURE}\n1 failed, 4 passed in 0.29s"
            )),
            2300,
        )],
    );
    a.reply(
        "Fixed: `ledger export` now writes `USD` for invoices stored before 2022, which have no \
         `currency` field (src/ledger/cli.py, one line). The one failing test, \
         test_totals_with_stacked_discounts, fails on main as well and is unrelated: it's the \
         discount rounding issue tracked in LEDG-412.",
    );
    a.finish(&context("tom.becker", "production", "LEDG-409")).0
}

pub fn explain_discounts(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, CLAUDE_HAIKU_4_5, SYSTEM);
    a.user("What does apply_discounts do, in plain words? I need to explain it to finance.");
    a.act("", vec![read(DISCOUNTS, 30)]);
    a.reply(
        "apply_discounts takes an invoice's subtotal and a list of discounts and returns the \
         amount to charge:\n\n\
         1. Percentage discounts are applied first, one after another (10% then 5% is 10% off, \
         then 5% off what's left, not 15% off).\n\
         2. Fixed-amount discounts are then subtracted.\n\
         3. The result never goes below zero.\n\n\
         One caveat for finance: percentage discounts are computed with floating-point \
         numbers and Python's round(), so a result that lands exactly on half a cent can come \
         out one cent low (21.45 with 10% off gives 19.30 instead of 19.31).",
    );
    a.finish(&context("ana.kowalski", "development", "FIN-77"))
        .0
}

pub fn since_option(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, CLAUDE_SONNET_4_5, SYSTEM);
    a.user(
        "Add a --since option to `ledger export` that only exports invoices issued on or after \
         a date (YYYY-MM-DD).",
    );
    a.act("", vec![read(CLI, 40), read("src/ledger/store.py", 35)]);
    a.act(
        "Invoices carry `issued_on` as an ISO date string. I'll parse --since with click's \
         DateTime type and compare dates, not strings.",
        vec![
            call(
                "edit_file",
                json!({
                    "path": CLI,
                    "old_str": "import csv\nimport sys\n",
                    "new_str": "import csv\nimport sys\nfrom datetime import date, datetime\n"
                }),
                json!("Edited src/ledger/cli.py: 1 replacement."),
                60,
            ),
            call(
                "edit_file",
                json!({
                    "path": CLI,
                    "old_str": "def export(fmt: str) -> None:\n    \"\"\"Export every invoice.\"\"\"\n",
                    "new_str": "@click.option(\"--since\", type=click.DateTime([\"%Y-%m-%d\"]), default=None)\ndef export(fmt: str, since: datetime | None) -> None:\n    \"\"\"Export invoices, optionally only those issued on or after --since.\"\"\"\n    invoices = load_invoices()\n    if since is not None:\n        invoices = [i for i in invoices if date.fromisoformat(i[\"issued_on\"]) >= since.date()]\n"
                }),
                json!("Edited src/ledger/cli.py: 1 replacement."),
                70,
            ),
            call(
                "edit_file",
                json!({
                    "path": CLI,
                    "old_str": "        for inv in load_invoices()\n",
                    "new_str": "        for inv in invoices\n"
                }),
                json!("Edited src/ledger/cli.py: 1 replacement."),
                60,
            ),
        ],
    );
    a.act(
        "Adding a test for the new option.",
        vec![call(
            "write_file",
            json!({
                "path": "tests/test_cli.py",
                "content": "from click.testing import CliRunner\n\nfrom ledger.cli import main\n\n\ndef test_export_since_filters_by_issue_date(invoices_file):\n    result = CliRunner().invoke(main, [\"export\", \"--since\", \"2024-03-01\"])\n    assert result.exit_code == 0\n    assert \"INV-0102\" in result.output\n    assert \"INV-0099\" not in result.output\n"
            }),
            json!("Wrote tests/test_cli.py (10 lines)."),
            50,
        )],
    );
    a.act(
        "",
        vec![call(
            "run_tests",
            json!({"path": "tests/test_cli.py"}),
            json!("E                                                                        [100%]\n==================================== ERRORS ====================================\n___________ ERROR at setup of test_export_since_filters_by_issue_date ___________\nfile /work/ledger/tests/test_cli.py, line 6\n  def test_export_since_filters_by_issue_date(invoices_file):\nE       fixture 'invoices_file' not found\n>       available fixtures: cache, capfd, capsys, monkeypatch, tmp_path, ...\n=========================== short test summary info ============================\nERROR tests/test_cli.py::test_export_since_filters_by_issue_date\n1 error in 0.12s"),
            1800,
        )],
    );
    a.act(
        "The fixture doesn't exist yet; adding it to conftest.py, pointing the store at a \
         temporary file.",
        vec![call(
            "write_file",
            json!({
                "path": "tests/conftest.py",
                "content": "import json\n\nimport pytest\n\nimport ledger.store\n\n\n@pytest.fixture\ndef invoices_file(tmp_path, monkeypatch):\n    path = tmp_path / \"invoices.jsonl\"\n    rows = [\n        {\"id\": \"INV-0099\", \"total\": 40.0, \"issued_on\": \"2024-02-28\"},\n        {\"id\": \"INV-0102\", \"total\": 12.5, \"issued_on\": \"2024-03-02\", \"currency\": \"USD\"},\n    ]\n    path.write_text(\"\\n\".join(json.dumps(r) for r in rows))\n    monkeypatch.setattr(ledger.store, \"DATA\", path)\n    return path\n"
            }),
            json!("Wrote tests/conftest.py (18 lines)."),
            50,
        )],
    );
    a.act(
        "",
        vec![call(
            "run_tests",
            json!({"path": "tests"}),
            json!(".........                                                                [100%]\n9 passed in 0.47s"),
            2600,
        )],
    );
    a.reply(
        "Added `ledger export --since YYYY-MM-DD`: it keeps invoices whose `issued_on` is on or \
         after the date (compared as dates, so 2024-03-01 includes the 1st). Without the option \
         the export is unchanged. New test tests/test_cli.py with an `invoices_file` fixture in \
         tests/conftest.py; the full suite passes (9 tests).",
    );
    a.finish(&context("tom.becker", "production", "LEDG-415")).0
}
