//! The research agent: answers engineering questions from internal notes and the web, once
//! handing the web search to a sub-agent.

use rand::rngs::StdRng;
use serde_json::json;

use crate::demo::agent::{call, Agent, Context, GPT_4O, GPT_4O_MINI, GPT_4_1_MINI};
use crate::demo::spec::SpanSpec;

pub const AGENT: &str = "research-agent";
pub const SUB_AGENT: &str = "web-researcher";

const SYSTEM: &str = "You are a research assistant for Fernhill's engineering team. Answer with \
sources. Prefer internal notes for facts about our systems and primary sources (standards, \
official docs) for everything else. Say so when sources disagree or are missing.";

const WEB_SYSTEM: &str = "You search the web and read pages to answer one focused question. \
Return the answer in a few bullet points, each with the URL it came from.";

const OWASP_URL: &str =
    "https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html";

fn context(user: &'static str) -> Context {
    Context {
        user: Some(user),
        environment: Some("production"),
        metadata: vec![("team", "platform"), ("surface", "slack")],
        ..Context::default()
    }
}

/// The web-researcher's own run, nested under the tool that called it.
fn web_researcher(rng: &mut StdRng, question: &str) -> (SpanSpec, String) {
    let mut a = Agent::new(rng, SUB_AGENT, GPT_4O_MINI, WEB_SYSTEM);
    a.user(question);
    a.act(
        "",
        vec![call(
            "web_search",
            json!({"query": "OWASP password storage cheat sheet argon2id parameters", "max_results": 5}),
            json!([
                {"title": "Password Storage - OWASP Cheat Sheet Series", "url": OWASP_URL, "snippet": "Use Argon2id with a minimum configuration of 19 MiB of memory, an iteration count of 2, and 1 degree of parallelism."},
                {"title": "RFC 9106: Argon2 Memory-Hard Function for Password Hashing", "url": "https://www.rfc-editor.org/rfc/rfc9106", "snippet": "Argon2id is the recommended variant; the document gives two recommended parameter sets."},
                {"title": "bcrypt - Wikipedia", "url": "https://en.wikipedia.org/wiki/Bcrypt", "snippet": "bcrypt truncates passwords longer than 72 bytes."}
            ]),
            900,
        )],
    );
    a.act(
        "The OWASP cheat sheet is the primary source; reading it.",
        vec![call(
            "fetch_page",
            json!({"url": OWASP_URL}),
            json!({
                "status": 200,
                "title": "Password Storage - OWASP Cheat Sheet Series",
                "text": "Argon2id should use one of the following configuration settings as a base minimum: m=47104 (46 MiB), t=1, p=1 or m=19456 (19 MiB), t=2, p=1 ... If Argon2id is not available, use scrypt with a minimum CPU/memory cost parameter of (2^17), a minimum block size of 8 (1024 bytes), and a parallelization parameter of 1. For legacy systems using bcrypt, use a work factor of 10 or more and with a password limit of 72 bytes. If FIPS-140 compliance is required, use PBKDF2 with a work factor of 600,000 or more and set with an internal hash function of HMAC-SHA-256."
            }),
            1400,
        )],
    );
    let answer = format!(
        "- Argon2id first choice: m=19 MiB, t=2, p=1 minimum (or m=46 MiB, t=1, p=1). {OWASP_URL}\n\
         - scrypt if Argon2id is unavailable: N=2^17, r=8, p=1. {OWASP_URL}\n\
         - bcrypt only for legacy systems: work factor >= 10, passwords capped at 72 bytes. {OWASP_URL}\n\
         - PBKDF2-HMAC-SHA-256 with >= 600,000 iterations when FIPS-140 is required. {OWASP_URL}"
    );
    a.reply(&answer);
    (a.finish(&Context::default()).0, answer)
}

pub fn password_hashing(rng: &mut StdRng) -> SpanSpec {
    let question = "What do current guidelines recommend for password hashing, and does our auth \
                    service need to change anything?";
    let web_question = "Current OWASP recommendations for password hashing algorithms and their \
                        minimum parameters";
    let (sub_run, web_answer) = web_researcher(rng, web_question);
    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM);
    a.user(question);
    a.retrieve(
        "eng-notes",
        "auth service password hashing algorithm",
        json!([
            {"id": "adr-014-password-hashing", "score": 0.88, "content": "ADR-014 (2019): auth-service hashes passwords with bcrypt, cost 10, via passlib. Revisit when we upgrade passlib."},
            {"id": "runbook-auth-service", "score": 0.71, "content": "auth-service pods have 512 MiB memory limits; login p95 target is 300 ms."},
            {"id": "postmortem-2023-11-login-latency", "score": 0.55, "content": "Raising bcrypt cost to 12 pushed login p95 to 410 ms on the old node pool; reverted to 10."}
        ]),
    );
    a.act(
        "Our notes cover what we run; I'll have the web researcher check the current guidance.",
        vec![call(
            "ask_web_researcher",
            json!({"question": web_question}),
            json!(web_answer),
            20,
        )
        .via(sub_run)],
    );
    a.reply(
        "Current guidance (OWASP Password Storage Cheat Sheet) ranks Argon2id first, with at \
         least 19 MiB memory, 2 iterations and parallelism 1; scrypt (N=2^17, r=8, p=1) next; \
         bcrypt is acceptable only for legacy systems, with a work factor of at least 10.\n\n\
         Our auth-service uses bcrypt at cost 10 (ADR-014), which meets that legacy bar but is \
         not the recommended choice. Suggested path: switch new hashes to Argon2id at m=19 MiB, \
         t=2, p=1 and rehash on next login. At 19 MiB per hash the 512 MiB pod limit allows about \
         20 concurrent hashes, so check login concurrency first; the 2023 latency postmortem \
         shows the p95 budget is tight.",
    );
    a.finish(&context("li.wei")).0
}

pub fn problem_details(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM);
    a.user(
        "Summarise RFC 9457 (Problem Details for HTTP APIs) for our API style guide: which fields, \
         which media type, and what changed from RFC 7807.",
    );
    a.act(
        "",
        vec![
            call(
                "fetch_page",
                json!({"url": "https://www.rfc-editor.org/rfc/rfc9457"}),
                json!({
                    "status": 200,
                    "title": "RFC 9457: Problem Details for HTTP APIs",
                    "text": "This document defines a \"problem detail\" to carry machine-readable details of errors in HTTP response content ... This document obsoletes RFC 7807. ... Members: \"type\" (a URI reference that identifies the problem type; when not present, its value is assumed to be \"about:blank\"), \"status\", \"title\", \"detail\", \"instance\". Problem type definitions MAY extend the problem details object with additional members ... media types application/problem+json and application/problem+xml ... Section 4.2 establishes the HTTP Problem Types registry."
                }),
                1100,
            ),
            call(
                "web_search",
                json!({"query": "RFC 9457 changes from RFC 7807", "max_results": 3}),
                json!([
                    {"title": "RFC 9457 Appendix D: Changes from RFC 7807", "url": "https://www.rfc-editor.org/rfc/rfc9457#appendix-D", "snippet": "Introduced a registry of common problem type URIs; clarified how to represent multiple problems; provided guidance for using type URIs that cannot be dereferenced."}
                ]),
                800,
            ),
        ],
    );
    a.reply(
        "RFC 9457 (July 2023) replaces RFC 7807 and defines a standard error body for HTTP APIs.\n\n\
         - Fields: `type` (URI identifying the problem type, default `about:blank`), `title` \
         (short, human-readable, same for every occurrence), `status` (the HTTP status code), \
         `detail` (this occurrence, human-readable), `instance` (URI of this occurrence). Extra \
         members are allowed per problem type.\n\
         - Media type: `application/problem+json` (and `application/problem+xml`).\n\
         - Changes from 7807: an IANA registry of common problem types, guidance on reporting \
         several problems at once, and on type URIs that don't resolve.\n\n\
         For our style guide: always send `type`, `title` and `status`; put field-level \
         validation errors in an `errors` extension member. Sources: rfc-editor.org/rfc/rfc9457 \
         (sections 3, 4.2, appendix D).",
    );
    a.finish(&context("ana.kowalski")).0
}

pub fn python_runtimes(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4_1_MINI, SYSTEM);
    a.user("Which of our services still run on Python 3.8, and who owns them?");
    a.retrieve(
        "eng-notes",
        "python 3.8 end of life migration",
        json!([
            {"id": "rfc-031-python-upgrade", "score": 0.84, "content": "All services move to Python 3.12; 3.8 reached end of life in October 2024."},
            {"id": "runbook-base-images", "score": 0.69, "content": "Base images are published as fernhill/python:<version>-slim."},
            {"id": "adr-020-service-catalog", "score": 0.52, "content": "The service catalog is the source of truth for runtimes and owners."}
        ]),
    );
    a.act(
        "",
        vec![call(
            "query_service_catalog",
            json!({"filter": {"runtime": "python3.8"}, "fields": ["name", "owner", "last_deploy"]}),
            json!([
                {"name": "legacy-reports", "owner": "data-platform", "last_deploy": "14 months ago"},
                {"name": "gift-card-ledger", "owner": "payments", "last_deploy": "3 months ago"}
            ]),
            240,
        )],
    );
    a.reply(
        "Two services are still on Python 3.8, which has been end-of-life since October 2024 \
         (RFC-031 targets 3.12 everywhere):\n\n\
         - legacy-reports, owned by data-platform, last deployed 14 months ago\n\
         - gift-card-ledger, owned by payments, last deployed 3 months ago\n\n\
         gift-card-ledger is the one to prioritise since it's still actively deployed and \
         handles money. Source: the service catalog.",
    );
    a.finish(&context("ana.kowalski")).0
}
