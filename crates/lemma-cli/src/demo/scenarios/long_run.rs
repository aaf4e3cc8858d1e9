//! A long coding session of 300+ spans: the agent re-reads the same file twelve times in a
//! row before it finds the rounding bug, then fixes it and tidies money handling across the
//! codebase, exploring, editing and running the tests as it goes.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Value};

use super::coding::{context, AGENT, STACKED_DISCOUNT_FAILURE, SYSTEM};
use super::repo::{self, CLI, DISCOUNTS, FILES, INVOICES, ROUNDING};
use crate::demo::agent::{call, Agent, CLAUDE_SONNET_4_5};
use crate::demo::spec::SpanSpec;

/// Identical `read_file` calls in a row.
pub const LOOP_REPEATS: usize = 12;
pub const LOOP_TOOL: &str = "read_file";
/// The session keeps going until it has at least this many spans.
const MIN_SPANS: usize = 320;
/// Messages sent besides the task: the session is too long to send whole.
const WINDOW: usize = 14;

const INVOICE_TESTS: &str = "tests/test_invoices.py";
const ROUNDING_TESTS: &str = "tests/test_rounding.py";
const ALL_TESTS: &str = "tests";

/// A tool call: name, arguments, result, typical duration in ms.
type Tool = (&'static str, Value, Value, u64);

/// One change of the clean-up, made after looking around `path`.
struct Edit {
    path: &'static str,
    /// `old_str` → `new_str`, one `edit_file` call each.
    changes: &'static [(&'static str, &'static str)],
    note: &'static str,
    /// The tests to run afterwards.
    tests: &'static str,
    /// Whether it adds a test to `tests`.
    adds_test: bool,
    /// Whether the tests need a dependency that is not installed yet.
    needs_install: bool,
}

const EDITS: &[Edit] = &[
    Edit {
        path: DISCOUNTS,
        changes: &[("            amount -= d.value", "            amount = round_money(amount - d.value)")],
        note: "Fixed discounts should land on whole cents too, so a fractional store credit can't leak into the total.",
        tests: INVOICE_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: INVOICE_TESTS,
        changes: &[(
            "def test_tax_is_added_after_discounts():",
            "def test_percent_discount_rounds_half_up():\n    inv = Invoice([Line(\"D\", Decimal(\"8.45\"))], discounts=[pct(\"10\")], region=\"US-NH\")\n    assert inv.total == Decimal(\"7.61\")\n\n\ndef test_tax_is_added_after_discounts():",
        )],
        note: "Adding a regression test for another half-cent case: 8.45 minus 10% is 7.605, which must round to 7.61.",
        tests: INVOICE_TESTS,
        adds_test: true,
        needs_install: false,
    },
    Edit {
        path: INVOICES,
        changes: &[(
            "        return round_money(discounted + tax_for(discounted, self.region))",
            "        discounted = round_money(discounted)\n        return discounted + tax_for(discounted, self.region)",
        )],
        note: "Tax should be computed on the rounded discounted amount, the number the customer sees on the invoice.",
        tests: INVOICE_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: "src/ledger/tax.py",
        changes: &[(
            "        raise KeyError(f\"no tax rate for region {region!r}\")",
            "        raise ValueError(f\"no tax rate for region {region!r}\")",
        )],
        note: "An unknown region is bad input rather than a missing key; ValueError lets the API answer 422 instead of 500.",
        tests: INVOICE_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: INVOICES,
        changes: &[(
            "        return sum((l.unit_price * l.qty for l in self.lines), Decimal(\"0\"))",
            "        return sum((line.unit_price * line.qty for line in self.lines), Decimal(\"0\"))",
        )],
        note: "Renaming `l` to `line` while I'm here (ruff E741, easy to misread as 1).",
        tests: INVOICE_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: ROUNDING,
        changes: &[
            ("from decimal import Decimal, ROUND_HALF_UP", "from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal"),
            ("rounding=\"ROUND_DOWN\"", "rounding=ROUND_DOWN"),
        ],
        note: "split_evenly passes the rounding mode as a string literal; using the constant like round_money does.",
        tests: ROUNDING_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: ROUNDING_TESTS,
        changes: &[(
            "def test_split_adds_up():",
            "def test_negative_half_cent_rounds_away_from_zero():\n    assert round_money(Decimal(\"-2.675\")) == Decimal(\"-2.68\")\n\n\ndef test_split_adds_up():",
        )],
        note: "Refunds are negative amounts; covering the half-cent case for them too.",
        tests: ROUNDING_TESTS,
        adds_test: true,
        needs_install: false,
    },
    Edit {
        path: CLI,
        changes: &[
            ("from .store import load_invoices", "from decimal import Decimal\n\nfrom .rounding import round_money\nfrom .store import load_invoices"),
            ("\"total\": inv[\"total\"]", "\"total\": str(round_money(Decimal(str(inv[\"total\"]))))"),
        ],
        note: "The export printed stored floats as is (e.g. 19.299999999999997); formatting totals through round_money.",
        tests: ALL_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: "pyproject.toml",
        changes: &[("dev = [\"pytest>=8\", \"ruff>=0.5\"]", "dev = [\"pytest>=8\", \"ruff>=0.5\", \"hypothesis>=6.100\"]")],
        note: "Adding hypothesis to the dev dependencies for a property test of split_evenly.",
        tests: ALL_TESTS,
        adds_test: false,
        needs_install: false,
    },
    Edit {
        path: ROUNDING_TESTS,
        changes: &[
            ("from ledger.rounding import round_money, split_evenly", "from hypothesis import given, strategies as st\n\nfrom ledger.rounding import round_money, split_evenly"),
            ("    assert sum(parts) == Decimal(\"10.00\")", "    assert sum(parts) == Decimal(\"10.00\")\n\n\n@given(st.decimals(min_value=0, max_value=10_000, places=2), st.integers(1, 12))\ndef test_split_always_adds_up(total, parts):\n    assert sum(split_evenly(total, parts)) == total"),
        ],
        note: "The property: whatever the total and number of parts, the split adds up to the total exactly.",
        tests: ROUNDING_TESTS,
        adds_test: true,
        needs_install: true,
    },
];

const LOOP_SAYS: &[&str] = &[
    "round_money looks right, but let me re-read it to be sure about the quantize call.",
    "Checking rounding.py again for where ROUND_HALF_UP is applied.",
    "Let me look at the rounding helper once more.",
    "I want to double-check CENT and the rounding mode in rounding.py.",
];

const READ_SAYS: &[&str] = &[
    "Let me look at {}.",
    "Reading {}.",
    "Checking how {} handles amounts.",
    "Opening {} to see the current code.",
];

const GREP_SAYS: &[&str] = &[
    "Searching for `{}`.",
    "Looking for other places that use `{}`.",
    "Where else does `{}` appear?",
];

const PATTERNS: &[&str] = &[
    "round(",
    "float(",
    "quantize",
    "Decimal(",
    "ROUND_",
    "tax_for",
    "split_evenly",
    "apply_discounts",
    "round_money",
    "currency",
];

const MISSING_HYPOTHESIS: &str = r#"==================================== ERRORS ====================================
___________________ ERROR collecting tests/test_rounding.py ____________________
ImportError while importing test module '/work/ledger/tests/test_rounding.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
/usr/lib/python3.12/importlib/__init__.py:90: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_rounding.py:3: in <module>
    from hypothesis import given, strategies as st
E   ModuleNotFoundError: No module named 'hypothesis'
=========================== short test summary info ============================
ERROR tests/test_rounding.py
!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!!
1 error in 0.18s"#;

const PIP_OUTPUT: &str = "Obtaining file:///work/ledger\n  Installing build dependencies ... done\n  \
Checking if build backend supports build_editable ... done\n  Getting requirements to build \
editable ... done\nCollecting hypothesis>=6.100\n  Using cached hypothesis-6.112.1-py3-none-any.whl \
(467 kB)\nCollecting sortedcontainers<3.0.0,>=2.1.0\n  Using cached \
sortedcontainers-2.4.0-py2.py3-none-any.whl (29 kB)\nBuilding wheels for collected packages: \
ledger\nSuccessfully built ledger\nSuccessfully installed hypothesis-6.112.1 ledger-0.9.3 \
sortedcontainers-2.4.0";

fn read(path: &str) -> Tool {
    (
        "read_file",
        json!({"path": path}),
        json!(repo::file(path)),
        40,
    )
}

fn read_lines(path: &str, from: usize, to: usize) -> Tool {
    let args = json!({"path": path, "start_line": from, "end_line": to});
    ("read_file", args, json!(repo::lines(path, from, to)), 30)
}

fn grep(pattern: &str, under: &str) -> Tool {
    let args = json!({"pattern": pattern, "path": under});
    ("grep", args, json!(repo::grep(pattern, under)), 85)
}

/// How many tests each file has, growing as the session adds some.
struct Suite {
    invoices: usize,
    rounding: usize,
}

impl Suite {
    fn count(&self, path: &str) -> usize {
        match path {
            INVOICE_TESTS => self.invoices,
            ROUNDING_TESTS => self.rounding,
            _ => self.invoices + self.rounding,
        }
    }

    fn add(&mut self, path: &str) {
        match path {
            INVOICE_TESTS => self.invoices += 1,
            _ => self.rounding += 1,
        }
    }
}

struct Session<'r> {
    agent: Agent<'r>,
    last: Option<(&'static str, Value)>,
    suite: Suite,
}

impl Session<'_> {
    fn step(&mut self, say: &str, tools: Vec<Tool>) {
        self.last = tools.last().map(|t| (t.0, t.1.clone()));
        let calls = tools
            .into_iter()
            .map(|(name, args, result, ms)| call(name, args, result, ms))
            .collect();
        self.agent.act(say, calls);
    }

    /// One look around: one to three reads or searches, mostly of `focus`, never repeating
    /// the call just made (only the scripted loop repeats itself).
    fn explore(&mut self, focus: &str) {
        let n = match self.agent.rng().random_range(0..10) {
            0..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        let mut tools: Vec<Tool> = Vec::new();
        while tools.len() < n {
            let t = self.pick(focus);
            let same = |o: &Tool| o.0 == t.0 && o.1 == t.1;
            let repeats_last = self
                .last
                .as_ref()
                .is_some_and(|(n, a)| *n == t.0 && *a == t.1);
            if tools.iter().any(same) || (tools.is_empty() && repeats_last) {
                continue;
            }
            tools.push(t);
        }
        let say = self.say_for(&tools[0]);
        self.step(&say, tools);
    }

    fn pick(&mut self, focus: &str) -> Tool {
        let rng = self.agent.rng();
        match rng.random_range(0..10) {
            0..=2 => read(focus),
            3 => {
                let len = repo::file(focus).lines().count().max(1);
                let from = rng.random_range(1..=len);
                let to = (from + rng.random_range(4..12)).min(len);
                read_lines(focus, from, to)
            }
            4..=6 => read(FILES.choose(rng).map_or(ROUNDING, |f| f.0)),
            _ => {
                let pattern = PATTERNS.choose(rng).copied().unwrap_or("round(");
                let under = ["src", "tests", ""].choose(rng).copied().unwrap_or("src");
                grep(pattern, under)
            }
        }
    }

    /// Often nothing (models call tools without a word), else a line about the first call.
    fn say_for(&mut self, first: &Tool) -> String {
        let rng = self.agent.rng();
        if rng.random_bool(0.3) {
            return String::new();
        }
        let (templates, subject) = match first.0 {
            "grep" => (GREP_SAYS, &first.1["pattern"]),
            _ => (READ_SAYS, &first.1["path"]),
        };
        let template = templates.choose(rng).copied().unwrap_or("{}");
        template.replace("{}", subject.as_str().unwrap_or(""))
    }

    fn run_tests(&mut self, say: &str, path: &str) {
        let n = self.suite.count(path);
        let secs = self.agent.rng().random_range(18..60);
        let output = format!("{:<73}[100%]\n{n} passed in 0.{secs:02}s", ".".repeat(n));
        let tool = ("run_tests", json!({"path": path}), json!(output), 2200);
        self.step(say, vec![tool]);
    }

    fn edit(&mut self, e: &Edit) {
        let tools = e
            .changes
            .iter()
            .map(|(old, new)| {
                let args = json!({"path": e.path, "old_str": old, "new_str": new});
                let result = format!("Edited {}: 1 replacement.", e.path);
                ("edit_file", args, json!(result), 60)
            })
            .collect();
        self.step(e.note, tools);
        if e.adds_test {
            self.suite.add(e.tests);
        }
        if e.needs_install {
            let failing = (
                "run_tests",
                json!({"path": e.tests}),
                json!(MISSING_HYPOTHESIS),
                1500,
            );
            self.step("", vec![failing]);
            let install = json!({"command": "pip install -e '.[dev]'"});
            let tool = ("run_command", install, json!(PIP_OUTPUT), 9000);
            self.step(
                "hypothesis isn't installed in this environment yet; installing the dev extras.",
                vec![tool],
            );
        }
        self.run_tests("", e.tests);
    }
}

pub fn long_run(rng: &mut StdRng) -> SpanSpec {
    let agent = Agent::new(rng, AGENT, CLAUDE_SONNET_4_5, SYSTEM).with_window(WINDOW);
    let mut s = Session {
        agent,
        last: None,
        suite: Suite {
            invoices: 3,
            rounding: 2,
        },
    };
    s.agent.user(
        "Invoice totals are off by a cent for some discounted orders (LEDG-412): \
         tests/test_invoices.py::test_totals_with_stacked_discounts fails. Find the cause and \
         fix it, then make rounding of money consistent across the codebase. Keep the whole \
         suite passing.",
    );
    let failing = format!(
        ".F.                                                                      [100%]\n{STACKED_DISCOUNT_FAILURE}\n1 failed, 2 passed in 0.21s"
    );
    s.step(
        "I'll reproduce the failure first.",
        vec![(
            "run_tests",
            json!({"path": INVOICE_TESTS}),
            json!(failing),
            1900,
        )],
    );
    s.step("", vec![read(INVOICES)]);
    s.step(
        "The total goes through round_money. Let me see everything that rounds.",
        vec![grep("round", "src")],
    );
    for say in LOOP_SAYS.iter().cycle().take(LOOP_REPEATS) {
        s.step(say, vec![read(ROUNDING)]);
    }
    s.step(
        "I've read rounding.py several times now and round_money is correct: ROUND_HALF_UP on a \
         Decimal. The cent must be lost before it is called, so I'll follow the discount path \
         instead.",
        vec![grep("apply_percentage", "src")],
    );
    s.step("", vec![read(DISCOUNTS)]);
    s.edit(&Edit {
        path: DISCOUNTS,
        changes: &[
            (
                "from decimal import Decimal\n",
                "from decimal import Decimal\n\nfrom .rounding import round_money\n",
            ),
            (
                "    return Decimal(str(round(float(amount) * (1 - float(pct) / 100), 2)))",
                "    return round_money(amount * (1 - pct / 100))",
            ),
        ],
        note: "Found it: apply_percentage goes through float and round(). 21.45 * 0.9 is \
               19.304999... as a float, so it rounds down to 19.30. Switching to Decimal \
               arithmetic and round_money.",
        tests: INVOICE_TESTS,
        adds_test: false,
        needs_install: false,
    });
    for e in EDITS {
        let looks = s.agent.rng().random_range(3..=8);
        for _ in 0..looks {
            s.explore(e.path);
        }
        s.edit(e);
    }
    let mut reviews = 0;
    while s.agent.span_count() < MIN_SPANS {
        let focus = FILES.choose(s.agent.rng()).map_or(ROUNDING, |f| f.0);
        s.explore(focus);
        reviews += 1;
        if reviews % 6 == 0 {
            s.run_tests("", ALL_TESTS);
        }
    }
    s.run_tests("Final check: the whole suite.", ALL_TESTS);
    s.agent.reply(
        "LEDG-412 is fixed. The cause was apply_percentage in src/ledger/discounts.py: it \
         converted to float and used round(), so amounts that land on half a cent (21.45 - 10% \
         = 19.305) were stored as 19.30499... and rounded down. It now stays in Decimal and uses \
         round_money (ROUND_HALF_UP).\n\n\
         Rounding is now consistent:\n\
         - fixed discounts and the discounted subtotal are rounded to cents before tax;\n\
         - `ledger export` formats totals through round_money;\n\
         - split_evenly uses the ROUND_DOWN constant; tax_for raises ValueError for an unknown \
         region.\n\n\
         New tests: a second half-cent discount case, negative half-cent rounding, and a \
         hypothesis property test that split_evenly always adds up (hypothesis added to the dev \
         extras). All 8 tests pass.\n\n\
         Note: I spent a while re-reading rounding.py before looking upstream of it; the helper \
         was never the problem.",
    );
    s.agent
        .finish(&context("tom.becker", "production", "LEDG-412"))
        .0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tool_calls(root: &SpanSpec) -> Vec<(String, String)> {
        root.pre_order()
            .into_iter()
            .filter(|s| s.name.starts_with("execute_tool "))
            .map(|s| {
                let arg = |k: &str| {
                    let v = s.attribute(k).and_then(Value::as_str);
                    v.unwrap_or_default().to_string()
                };
                (arg("gen_ai.tool.name"), arg("gen_ai.tool.call.arguments"))
            })
            .collect()
    }

    #[test]
    fn one_loop_of_twelve_and_no_other_repeats_whatever_the_seed() {
        for seed in 0..20 {
            let root = long_run(&mut StdRng::seed_from_u64(seed));
            assert!(root.count() >= MIN_SPANS, "{}", root.count());
            let calls = tool_calls(&root);
            let mut runs = Vec::new();
            let mut i = 0;
            while i < calls.len() {
                let n = calls[i..].iter().take_while(|c| **c == calls[i]).count();
                if n >= 3 {
                    runs.push((calls[i].0.clone(), n));
                }
                i += n;
            }
            assert_eq!(runs, [(LOOP_TOOL.to_string(), LOOP_REPEATS)], "seed {seed}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_session() {
        let a = long_run(&mut StdRng::seed_from_u64(3));
        let b = long_run(&mut StdRng::seed_from_u64(3));
        assert_eq!(a.count(), b.count());
        assert_eq!(tool_calls(&a), tool_calls(&b));
    }
}
