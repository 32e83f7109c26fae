//! Deterministic synthetic conversations for benchmarks and memory tests:
//! conversation `i` is always the same, and none is kept after it is yielded.
//! Each target that includes this file uses a different part of it.
#![allow(dead_code)]

use lora_export::model::{
    Conversation, ConversationStatus, ConversationTurn, Role, Tier, Timestamp,
};

const USER_LINES: [&str; 4] = [
    "I was charged twice for my subscription this month, can you help me get a refund?",
    "My portfolio dropped 12% — should I rebalance into bonds, or \"wait it out\"?",
    "Can you explain how compound interest works, with a worked example, please?",
    "The export, CSV, shows =SUM(A1:A9) in a cell; is that safe to open in Excel?",
];

const ASSISTANT_LINES: [&str; 4] = [
    "I'm sorry about the double charge. I've opened a refund request; you'll see it in 3–5 business days.\nIs there anything else I can do?",
    "A 12% drop is unsettling. Before rebalancing, let's look at your time horizon and risk tolerance:\n- horizon > 10 years\n- emergency fund in place",
    "Sure! With 5% annual interest on $1,000, after one year you have $1,050; after two, $1,102.50 — interest earns interest.",
    "Cells starting with `=` can run formulas. Our export prefixes such cells with an apostrophe so they open as text.",
];

/// Conversation number `i` of the synthetic set (about 1 KB of JSONL each).
pub fn conversation(i: u64) -> Conversation {
    let k = (i % 4) as usize;
    let created = Timestamp::parse("2025-10-29T10:00:00Z").expect("valid timestamp");
    let turns = (0..4)
        .map(|t| {
            let (role, text) = if t % 2 == 0 {
                (Role::User, USER_LINES[(k + t) % 4])
            } else {
                (Role::Assistant, ASSISTANT_LINES[(k + t) % 4])
            };
            ConversationTurn {
                token_count: Some(40),
                ..ConversationTurn::text(role, format!("{text} (#{i})"))
            }
        })
        .collect();
    Conversation {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        conversation_id: format!("syn-{i}"),
        title: Some(format!("Synthetic conversation {i}")),
        category: vec!["support".into(), "billing".into()],
        status: Some(ConversationStatus::Approved),
        quality_score: Some(5.0 + (i % 50) as f64 / 10.0),
        persona: (i % 3 != 0).then(|| "Busy professional".to_owned()),
        emotion: Some("frustrated".into()),
        topic: Some("refunds".into()),
        tier: Some([Tier::Template, Tier::Scenario, Tier::EdgeCase][(i % 3) as usize]),
        total_turns: 4,
        token_count: Some(160),
        parent_id: None,
        parent_type: None,
        parameters: serde_json::Map::new(),
        review_history: Vec::new(),
        created_at: Some(created.clone()),
        updated_at: Some(created),
        turns,
        tools: Vec::new(),
        preference: None,
        preference_input: Default::default(),
        user_fields: serde_json::Map::new(),
    }
}

/// The first `n` synthetic conversations, generated lazily.
pub fn conversations(n: u64) -> impl Iterator<Item = Conversation> {
    (0..n).map(conversation)
}
