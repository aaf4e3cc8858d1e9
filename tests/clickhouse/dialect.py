"""Runs every statement the ClickHouse store sent during a test on a current ClickHouse.

The store's SQL must run on ClickHouse 18.16 (the server the tests start) and on current
releases. No current server installs here, but chdb-core embeds the current engine: this
script creates the store's tables in it and runs each logged statement (one JSON string per
line, as LEMMA_CLICKHOUSE_SQL_LOG writes them). An insert is checked by selecting its columns
from its table. Prints every statement that fails with ClickHouse's message; exits 1 if any did.

    dialect.py STATEMENTS_FILE
"""

import json
import re
import sys

from chdb import session

INSERT = re.compile(r"^INSERT INTO (\S+) \((.*)\) FORMAT RowBinary$", re.S)


def main(path):
    with open(path, encoding="utf-8") as f:
        statements = [json.loads(line) for line in f if line.strip()]
    if not statements:
        print(f"{path}: no statements logged", file=sys.stderr)
        return 1
    s = session.Session()
    # The store names its database on the connection (?database=), not in its statements.
    databases = {m.group(1) for st in statements for m in [re.match(r"CREATE DATABASE IF NOT EXISTS (\w+)", st)] if m}
    if len(databases) != 1:
        print(f"expected one database created, found {sorted(databases)}", file=sys.stderr)
        return 1
    database = databases.pop()
    s.query(f"CREATE DATABASE IF NOT EXISTS {database}")
    s.query(f"USE {database}")
    # Tables first, in the order the store created them.
    ordered = [st for st in statements if st.startswith("CREATE")] + [
        st for st in statements if not st.startswith("CREATE")
    ]
    failures = []
    for statement in ordered:
        m = INSERT.match(statement)
        query = f"SELECT {m.group(2)} FROM {m.group(1)} LIMIT 0" if m else statement
        try:
            s.query(query)
        except Exception as e:  # chdb raises its own error type with ClickHouse's message
            failures.append((statement, str(e).splitlines()[0]))
    for statement, error in failures:
        print(f"FAILED on ClickHouse {current_version(s)}: {error}\n  {statement[:2000]}\n")
    print(f"{len(statements) - len(failures)} of {len(statements)} statements ran on ClickHouse {current_version(s)}")
    return 1 if failures else 0


def current_version(s):
    return str(s.query("SELECT version()", "TabSeparated")).strip()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
