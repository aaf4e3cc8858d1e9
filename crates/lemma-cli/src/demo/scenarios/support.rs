//! The support agent of an online home-goods shop: orders, refunds, shipping, membership
//! billing, and one refund that fails in the payments client.

use rand::rngs::StdRng;
use serde_json::json;

use crate::demo::agent::{call, Agent, Context, GPT_4O, GPT_4O_MINI};
use crate::demo::spec::SpanSpec;

pub const AGENT: &str = "support-agent";

const SYSTEM: &str = "You are the customer support assistant for Fernhill, an online home-goods \
store. Be warm and concise. Always look an order up before answering questions about it. You may \
refund up to $200 per order without approval; anything larger goes to a human agent via \
create_ticket. Never promise a delivery date the carrier has not confirmed.";

fn context(user: &'static str, channel: &'static str) -> Context {
    Context {
        user: Some(user),
        environment: Some("production"),
        metadata: vec![("channel", channel), ("app_version", "2.14.1")],
        ..Context::default()
    }
}

pub fn damaged_item(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM);
    a.user(
        "Hi, my order FH-20931 arrived today and the ceramic lamp base is cracked right through. \
         Can I get a refund?",
    );
    a.retrieve(
        "support-kb",
        "refund for item damaged in transit",
        json!([
            {"id": "kb-damaged-items", "score": 0.89, "content": "Items that arrive damaged are refunded in full without a return. Ask the customer to dispose of broken glass or ceramics safely."},
            {"id": "kb-refund-timelines", "score": 0.81, "content": "Card refunds take 3-5 business days to appear; PayPal refunds 1-2 days."},
            {"id": "kb-replacements", "score": 0.64, "content": "Replacements ship only when the SKU is in stock; otherwise offer a refund."}
        ]),
    );
    a.act(
        "",
        vec![call(
            "lookup_order",
            json!({"order_id": "FH-20931"}),
            json!({
                "order_id": "FH-20931", "status": "delivered", "carrier": "ups",
                "items": [
                    {"sku": "LMP-CER-12", "name": "Alba ceramic table lamp", "qty": 1, "price": 64.00},
                    {"sku": "BLB-LED-4PK", "name": "Warm LED bulbs, 4-pack", "qty": 1, "price": 12.50}
                ],
                "total": 76.50, "payment": "visa ending 4417"
            }),
            180,
        )],
    );
    a.act(
        "I'm sorry about the lamp! Refunding it now.",
        vec![call(
            "issue_refund",
            json!({"order_id": "FH-20931", "sku": "LMP-CER-12", "amount": 64.00, "reason": "damaged_in_transit"}),
            json!({"refund_id": "re_7Hq2Lx", "status": "pending", "amount": 64.00, "method": "visa ending 4417"}),
            420,
        )],
    );
    a.reply(
        "I'm so sorry the Alba lamp arrived broken. I've refunded $64.00 to your Visa ending 4417 \
         (refund re_7Hq2Lx); it usually appears within 3-5 business days. There's no need to send \
         it back, just please dispose of the broken ceramic carefully. Your LED bulbs aren't \
         affected.",
    );
    a.finish(&context("cust_4821", "web_chat")).0
}

pub fn address_change(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4O_MINI, SYSTEM);
    a.user(
        "I just placed order FH-21407 but I moved last week. Could you ship it to 88 Harbor St, \
         Apt 3B, Portland, ME 04101 instead?",
    );
    a.act(
        "",
        vec![call(
            "lookup_order",
            json!({"order_id": "FH-21407"}),
            json!({
                "order_id": "FH-21407", "status": "processing",
                "ship_to": "12 Elm Ct, Bangor, ME 04401",
                "items": [{"sku": "THR-WOOL-GRY", "name": "Merino throw, grey", "qty": 1, "price": 89.00}]
            }),
            150,
        )],
    );
    a.act(
        "It hasn't shipped yet, so I can still change it.",
        vec![call(
            "update_shipping_address",
            json!({
                "order_id": "FH-21407",
                "address": {"line1": "88 Harbor St", "line2": "Apt 3B", "city": "Portland", "state": "ME", "postal_code": "04101", "country": "US"}
            }),
            json!({"ok": true, "order_id": "FH-21407", "ship_to": "88 Harbor St, Apt 3B, Portland, ME 04101"}),
            260,
        )],
    );
    a.reply(
        "Done! Order FH-21407 (the grey merino throw) will now ship to 88 Harbor St, Apt 3B, \
         Portland, ME 04101. You'll get a tracking link by email once it leaves our warehouse.",
    );
    a.finish(&context("cust_1177", "web_chat")).0
}

/// A quick policy answer from the staging deployment, tagged as a prompt experiment.
pub fn return_window_staging(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4O_MINI, SYSTEM);
    a.user("What's your return window for furniture? I'm eyeing the Harlow bookshelf.");
    a.retrieve(
        "support-kb",
        "furniture return window",
        json!([
            {"id": "kb-returns-furniture", "score": 0.92, "content": "Furniture can be returned within 30 days of delivery in its original condition. Items over 50 lb are collected by courier for a $49 pickup fee, waived when the item is defective."},
            {"id": "kb-returns-general", "score": 0.77, "content": "Most items can be returned within 60 days. Final-sale items cannot be returned."},
            {"id": "kb-harlow-care", "score": 0.41, "content": "Harlow oak furniture: wipe with a dry cloth, avoid direct sunlight."}
        ]),
    );
    a.reply(
        "Furniture, including the Harlow bookshelf, can be returned within 30 days of delivery as \
         long as it's in its original condition. Because it's over 50 lb, a courier collects it \
         for a $49 pickup fee, which we waive if the item arrives defective.",
    );
    let ctx = Context {
        user: Some("qa-bot"),
        environment: Some("staging"),
        tags: vec!["prompt-v7", "canary"],
        metadata: vec![("channel", "web_chat"), ("prompt_version", "v7")],
        ..Context::default()
    };
    a.finish(&ctx).0
}

pub fn tracking(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM);
    a.user("Where is my order FH-20877? It was supposed to be here Tuesday.");
    a.act(
        "",
        vec![call(
            "lookup_order",
            json!({"order_id": "FH-20877"}),
            json!({
                "order_id": "FH-20877", "status": "shipped", "carrier": "ups",
                "tracking_number": "1Z8V4W290394771162",
                "items": [{"sku": "RUG-JUT-160", "name": "Jute rug 160x230", "qty": 1, "price": 149.00}]
            }),
            170,
        )],
    );
    a.act(
        "",
        vec![call(
            "get_tracking",
            json!({"carrier": "ups", "tracking_number": "1Z8V4W290394771162"}),
            json!({
                "status": "in_transit",
                "events": [
                    {"location": "Louisville, KY", "description": "Departed UPS facility"},
                    {"location": "Louisville, KY", "description": "Delay: weather in the region"},
                    {"location": "Hartford, CT", "description": "Arrived at UPS facility"}
                ],
                "carrier_estimate": null
            }),
            640,
        )],
    );
    a.reply(
        "Your jute rug (FH-20877) is on its way but was held up by weather at the Louisville hub. \
         It reached the Hartford, CT facility this morning, the last stop before local delivery. \
         UPS hasn't posted a new delivery date yet; I'll keep the tracking link in your inbox \
         updated, and if it hasn't arrived in 3 business days just reply here and I'll open a \
         claim with UPS.",
    );
    a.finish(&context("cust_3305", "email")).0
}

/// Four turns of one conversation about a duplicate membership charge, each a run of its own
/// sharing the thread id, the history growing turn by turn.
pub fn billing_thread(rng: &mut StdRng, thread_id: &str) -> [SpanSpec; 4] {
    let ctx = Context {
        user: Some("cust_2290"),
        thread: Some(thread_id.to_string()),
        environment: Some("production"),
        metadata: vec![("channel", "web_chat"), ("plan", "plus_monthly")],
        ..Context::default()
    };
    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM);
    a.user("Hi, I think I was charged twice for Fernhill Plus this month. Can you check?");
    a.act(
        "Let me look at your recent charges.",
        vec![call(
            "list_charges",
            json!({"customer_id": "cust_2290", "limit": 5}),
            json!([
                {"id": "ch_3QmA81", "amount": 9.99, "status": "succeeded", "description": "Fernhill Plus (monthly)", "attempt": "renewal"},
                {"id": "ch_3QmA9F", "amount": 9.99, "status": "succeeded", "description": "Fernhill Plus (monthly)", "attempt": "renewal_retry"},
                {"id": "ch_3PZx02", "amount": 9.99, "status": "succeeded", "description": "Fernhill Plus (monthly)", "attempt": "renewal"}
            ]),
            230,
        )],
    );
    a.reply(
        "You're right: this month's renewal went through twice, as ch_3QmA81 and ch_3QmA9F, both \
         $9.99. The second was an automatic retry that should never have run once the first \
         succeeded. Would you like me to refund the duplicate?",
    );
    let (first, history) = a.finish(&ctx);

    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM).with_history(history);
    a.user("Yes please, refund the duplicate.");
    a.act(
        "",
        vec![call(
            "issue_refund",
            json!({"charge_id": "ch_3QmA9F", "amount": 9.99, "reason": "duplicate"}),
            json!({"refund_id": "re_5Tn0Ke", "status": "succeeded", "amount": 9.99, "method": "mastercard ending 0311"}),
            390,
        )],
    );
    a.reply(
        "Done: I've refunded the duplicate $9.99 charge (refund re_5Tn0Ke) to your Mastercard \
         ending 0311. Your membership itself is unaffected.",
    );
    let (second, history) = a.finish(&ctx);

    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM).with_history(history);
    a.user("Thanks! How long until it's back on my card?");
    a.retrieve(
        "support-kb",
        "how long do card refunds take",
        json!([
            {"id": "kb-refund-timelines", "score": 0.93, "content": "Card refunds take 3-5 business days to appear; PayPal refunds 1-2 days."},
            {"id": "kb-refund-pending", "score": 0.72, "content": "Some banks show a refund as pending first; it cannot be sped up from our side."},
            {"id": "kb-damaged-items", "score": 0.38, "content": "Items that arrive damaged are refunded in full without a return."}
        ]),
    );
    a.reply(
        "Card refunds usually appear within 3-5 business days. Some banks show it as pending \
         first; if it isn't there after 5 business days, let me know and I'll send you the \
         refund reference for your bank.",
    );
    let (third, history) = a.finish(&ctx);

    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM).with_history(history);
    a.user("While I have you: please switch me to annual billing if it's cheaper.");
    a.act(
        "",
        vec![call(
            "get_plan_options",
            json!({"customer_id": "cust_2290"}),
            json!([
                {"plan": "plus_monthly", "price": 9.99, "interval": "month", "current": true},
                {"plan": "plus_annual", "price": 99.00, "interval": "year", "current": false}
            ]),
            140,
        )],
    );
    a.act(
        "Annual works out cheaper, switching you over.",
        vec![call(
            "change_plan",
            json!({"customer_id": "cust_2290", "plan": "plus_annual", "effective": "next_renewal"}),
            json!({"ok": true, "plan": "plus_annual", "effective": "next_renewal", "next_charge": 99.00}),
            310,
        )],
    );
    a.reply(
        "Switched! Annual Plus is $99/year versus $119.88 for twelve monthly payments, so you \
         save $20.88. The change takes effect at your next renewal, and you won't be charged \
         again until then.",
    );
    [first, second, third, a.finish(&ctx).0]
}

const REFUND_TRACEBACK: &str = r#"Traceback (most recent call last):
  File "/srv/support-agent/.venv/lib/python3.12/site-packages/agentkit/tools.py", line 214, in run
    result = await self._fn(**arguments)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/support-agent/support_agent/tools/billing.py", line 87, in issue_refund
    refund = await payments.refunds.create(
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/support-agent/.venv/lib/python3.12/site-packages/payments_client/resources/refunds.py", line 52, in create
    return await self._post("/v1/refunds", body=params, cast_to=Refund)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/support-agent/.venv/lib/python3.12/site-packages/payments_client/_client.py", line 318, in _post
    raise self._make_status_error(response)
payments_client.errors.InvalidRequestError: Refund amount (18900) is greater than unrefunded charge amount (13900)
"#;

/// A refund larger than what was charged to the card (part was paid by gift card): the
/// payments client raises and the run fails.
pub fn failed_refund(rng: &mut StdRng) -> SpanSpec {
    let mut a = Agent::new(rng, AGENT, GPT_4O, SYSTEM);
    a.user(
        "I returned the Harlow oak bookshelf two weeks ago (order FH-19876) and still haven't \
         got my money back. What's going on?",
    );
    a.act(
        "",
        vec![call(
            "lookup_order",
            json!({"order_id": "FH-19876"}),
            json!({
                "order_id": "FH-19876", "status": "returned", "return_received": true,
                "items": [{"sku": "BKS-OAK-5", "name": "Harlow oak bookshelf", "qty": 1, "price": 189.00}],
                "payments": [
                    {"method": "visa ending 9032", "charge_id": "ch_3PkT2c", "amount": 139.00},
                    {"method": "gift_card", "amount": 50.00}
                ],
                "refund": null
            }),
            190,
        )],
    );
    a.act(
        "The return arrived but the refund was never issued. Issuing it now.",
        vec![call(
            "issue_refund",
            json!({"order_id": "FH-19876", "charge_id": "ch_3PkT2c", "amount": 189.00, "reason": "returned"}),
            serde_json::Value::Null,
            520,
        )
        .raising(
            "payments_client.errors.InvalidRequestError",
            "Refund amount (18900) is greater than unrefunded charge amount (13900)",
            REFUND_TRACEBACK,
        )],
    );
    a.finish(&context("cust_5102", "web_chat")).0
}
