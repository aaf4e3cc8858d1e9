//! The small Python invoicing service the coding agent works on.

pub const REPO: &str = "fernhill/ledger";

pub const ROUNDING: &str = "src/ledger/rounding.py";
pub const DISCOUNTS: &str = "src/ledger/discounts.py";
pub const INVOICES: &str = "src/ledger/invoices.py";
pub const CLI: &str = "src/ledger/cli.py";

/// Path and content of each file.
pub const FILES: &[(&str, &str)] = &[
    (
        ROUNDING,
        r#"from decimal import Decimal, ROUND_HALF_UP

CENT = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    """Round to whole cents, halves away from zero (what customers expect)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split a total into parts that add up exactly, the first ones taking the extra cents."""
    base = (total / parts).quantize(CENT, rounding="ROUND_DOWN")
    remainder = int((total - base * parts) / CENT)
    return [base + CENT if i < remainder else base for i in range(parts)]
"#,
    ),
    (
        DISCOUNTS,
        r#"from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Discount:
    kind: str  # "percent" or "fixed"
    value: Decimal


def apply_percentage(amount: Decimal, pct: Decimal) -> Decimal:
    return Decimal(str(round(float(amount) * (1 - float(pct) / 100), 2)))


def apply_discounts(subtotal: Decimal, discounts: list[Discount]) -> Decimal:
    """Percent discounts first, then fixed ones; never below zero."""
    amount = subtotal
    for d in sorted(discounts, key=lambda d: d.kind != "percent"):
        if d.kind == "percent":
            amount = apply_percentage(amount, d.value)
        else:
            amount -= d.value
    return max(amount, Decimal("0"))
"#,
    ),
    (
        INVOICES,
        r#"from dataclasses import dataclass, field
from decimal import Decimal

from .discounts import Discount, apply_discounts
from .rounding import round_money
from .tax import tax_for


@dataclass
class Line:
    sku: str
    unit_price: Decimal
    qty: int = 1


@dataclass
class Invoice:
    lines: list[Line]
    discounts: list[Discount] = field(default_factory=list)
    region: str = "US-ME"

    @property
    def subtotal(self) -> Decimal:
        return sum((l.unit_price * l.qty for l in self.lines), Decimal("0"))

    @property
    def total(self) -> Decimal:
        discounted = apply_discounts(self.subtotal, self.discounts)
        return round_money(discounted + tax_for(discounted, self.region))
"#,
    ),
    (
        "src/ledger/tax.py",
        r#"from decimal import Decimal

from .rounding import round_money

RATES = {"US-ME": Decimal("0.055"), "US-NH": Decimal("0"), "US-MA": Decimal("0.0625")}


def tax_for(amount: Decimal, region: str) -> Decimal:
    rate = RATES.get(region)
    if rate is None:
        raise KeyError(f"no tax rate for region {region!r}")
    return round_money(amount * rate)
"#,
    ),
    (
        CLI,
        r#"import csv
import sys

import click

from .store import load_invoices


@click.group()
def main() -> None:
    """Ledger command line."""


@main.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
def export(fmt: str) -> None:
    """Export every invoice."""
    rows = [
        {"id": inv["id"], "total": inv["total"], "currency": inv["currency"]}
        for inv in load_invoices()
    ]
    writer = csv.DictWriter(sys.stdout, fieldnames=["id", "total", "currency"])
    writer.writeheader()
    writer.writerows(rows)
"#,
    ),
    (
        "src/ledger/store.py",
        r#"import json
from pathlib import Path

DATA = Path(__file__).parent.parent.parent / "data" / "invoices.jsonl"


def load_invoices() -> list[dict]:
    """One dict per line: id, total, issued_on (ISO date) and currency, which records
    written before 2022 do not have."""
    with DATA.open() as f:
        return [json.loads(line) for line in f if line.strip()]
"#,
    ),
    (
        "tests/test_invoices.py",
        r#"from decimal import Decimal

from ledger.discounts import Discount
from ledger.invoices import Invoice, Line


def pct(v: str) -> Discount:
    return Discount("percent", Decimal(v))


def test_total_without_discounts():
    inv = Invoice([Line("A", Decimal("10.00"), qty=2)], region="US-NH")
    assert inv.total == Decimal("20.00")


def test_totals_with_stacked_discounts():
    inv = Invoice([Line("B", Decimal("21.45"))], discounts=[pct("10")], region="US-NH")
    assert inv.total == Decimal("19.31")


def test_tax_is_added_after_discounts():
    inv = Invoice([Line("C", Decimal("100.00"))], discounts=[pct("20")], region="US-ME")
    assert inv.total == Decimal("84.40")
"#,
    ),
    (
        "tests/test_rounding.py",
        r#"from decimal import Decimal

from ledger.rounding import round_money, split_evenly


def test_half_cent_rounds_up():
    assert round_money(Decimal("2.675")) == Decimal("2.68")


def test_split_adds_up():
    parts = split_evenly(Decimal("10.00"), 3)
    assert parts == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert sum(parts) == Decimal("10.00")
"#,
    ),
    (
        "pyproject.toml",
        r#"[project]
name = "ledger"
version = "0.9.3"
requires-python = ">=3.11"
dependencies = ["click>=8.1"]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff>=0.5"]

[tool.pytest.ini_options]
addopts = "-q"
pythonpath = ["src"]
"#,
    ),
];

/// The content of a file of the repo (empty for a path it does not have).
pub fn file(path: &str) -> &'static str {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, c)| *c)
        .unwrap_or("")
}

/// Lines `from..=to` (1-based) of a file, numbered like `cat -n`.
pub fn lines(path: &str, from: usize, to: usize) -> String {
    file(path)
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .take(to.saturating_sub(from) + 1)
        .map(|(i, l)| format!("{:>4}\t{l}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `grep -n`-style matches of a fixed string across the repo.
pub fn grep(needle: &str, under: &str) -> String {
    let hits: Vec<String> = FILES
        .iter()
        .filter(|(p, _)| p.starts_with(under))
        .flat_map(|(p, c)| {
            c.lines()
                .enumerate()
                .filter(|(_, l)| l.contains(needle))
                .map(move |(i, l)| format!("{p}:{}:{l}", i + 1))
        })
        .collect();
    if hits.is_empty() {
        "(no matches)".into()
    } else {
        hits.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_greps_the_repo() {
        assert!(file(ROUNDING).contains("def round_money"));
        assert_eq!(file("nope.py"), "");
        assert_eq!(
            lines(ROUNDING, 1, 1),
            "   1\tfrom decimal import Decimal, ROUND_HALF_UP"
        );
        let hits = grep("round_money", "src");
        assert!(hits.contains("src/ledger/rounding.py:6:def round_money"));
        assert!(!hits.contains("tests/"));
        assert_eq!(grep("no such text", ""), "(no matches)");
    }
}
