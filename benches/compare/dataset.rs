//! The comparison dataset: N conversations of canonical JSONL, the same bytes
//! for the same N and seed on every machine.
//!
//! ```text
//! cargo run --release --example bench_dataset -- --count 50000 --seed 7 --output data.jsonl
//! cargo run --release --example bench_dataset -- --shape short --count 50000 --output short.jsonl
//! ```
//!
//! Each conversation has 4–12 turns (sometimes a system turn first), each of
//! 90–1,500 characters (`--shape short`: 40–160, where the cost per record
//! rather than per byte dominates); about one character in ten is "hard": non-ASCII
//! (accents, CJK, emoji), a quote, a backslash, a tab or a newline, so both
//! the JSON escaper and the UTF-8 paths are exercised. Titles sometimes start
//! with a formula character (`=`, `+`, `-`, `@`) for the CSV guard. Every
//! conversation is approved; persona, emotion and topic are sometimes null.
//! 50,000 conversations are about 385 MB (short: about 97 MB).
//!
//! The generator is a splitmix64 stream written here, so the data never
//! changes with a dependency's version.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};

use lora_export::model::{
    Conversation, ConversationStatus, ConversationTurn, ParentType, ReviewAction, Role, Tier,
    Timestamp,
};

const WORDS: [&str; 24] = [
    "the",
    "refund",
    "account",
    "charged",
    "twice",
    "subscription",
    "portfolio",
    "interest",
    "please",
    "explain",
    "balance",
    "monthly",
    "statement",
    "invoice",
    "support",
    "customer",
    "payment",
    "card",
    "transfer",
    "schedule",
    "because",
    "within",
    "business",
    "days",
];

const HARD: [&str; 16] =
    ["\"", "\\", "\n", "\t", "é", "ü", "ß", "—", "…", "€", "中", "文", "🙂", "🚀", "ñ", "'"];

const PERSONAS: [&str; 4] = ["Busy professional", "Retiree", "Student", "Small-business owner"];
const EMOTIONS: [&str; 3] = ["frustrated", "curious", "anxious"];
const TOPICS: [&str; 4] = ["refunds", "investing", "budgeting", "fraud"];
const TITLE_STARTS: [&str; 6] = ["", "", "", "=", "+", "@"];

/// splitmix64: a tiny, fixed pseudo-random sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// About `chars` characters of text, one in ten of them hard (a hard
/// character replaces a word 45% of the time; words average 7.5 characters).
fn text(rng: &mut Rng, chars: u64) -> String {
    let mut s = String::with_capacity(chars as usize * 2);
    let mut n = 0;
    while n < chars {
        if rng.next() % 20 < 9 {
            s.push_str(rng.pick(&HARD));
            n += 1;
        } else {
            let w = rng.pick(&WORDS);
            s.push_str(w);
            s.push(' ');
            n += w.len() as u64 + 1;
        }
    }
    s
}

fn conversation(rng: &mut Rng, i: u64, turn_chars: (u64, u64)) -> Conversation {
    let day = 1 + i % 28;
    let created = Timestamp::parse(&format!("2025-10-{day:02}T10:{:02}:00Z", i % 60))
        .expect("valid timestamp");
    let updated = Timestamp::parse(&format!("2025-10-{day:02} 12:{:02}:00.250+00", i % 60))
        .expect("valid timestamp");
    let n_turns = rng.range(4, 12);
    let system_first = rng.next() % 5 == 0;
    let turns = (0..n_turns)
        .map(|t| {
            let role = match (t, system_first) {
                (0, true) => Role::System,
                _ if (t + u64::from(system_first)) % 2 == 0 => Role::User,
                _ => Role::Assistant,
            };
            let chars = rng.range(turn_chars.0, turn_chars.1);
            ConversationTurn {
                token_count: Some(chars / 4),
                ..ConversationTurn::text(role, text(rng, chars))
            }
        })
        .collect::<Vec<_>>();
    let mut title = rng.pick(&TITLE_STARTS).to_owned();
    let _ = write!(title, "Conversation {i}: {}", text(rng, 24).trim_end());
    let maybe =
        |rng: &mut Rng, items: &[&str]| (rng.next() % 4 != 0).then(|| rng.pick(items).to_owned());
    let tier = [Tier::Template, Tier::Scenario, Tier::EdgeCase][(i % 3) as usize];
    let mut parameters = serde_json::Map::new();
    parameters.insert("temperature".into(), serde_json::json!(0.7));
    parameters.insert("model".into(), serde_json::json!("gen-v2"));
    Conversation {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        conversation_id: format!("conv-{i:08}"),
        title: Some(title),
        category: vec!["support".into(), rng.pick(&TOPICS).into()],
        status: Some(ConversationStatus::Approved),
        quality_score: Some(rng.range(50, 100) as f64 / 10.0),
        persona: maybe(rng, &PERSONAS),
        emotion: maybe(rng, &EMOTIONS),
        topic: maybe(rng, &TOPICS),
        tier: Some(tier),
        total_turns: n_turns,
        token_count: Some(turns.iter().filter_map(|t| t.token_count).sum()),
        parent_id: (tier != Tier::EdgeCase).then(|| format!("tpl-{}", i % 97)),
        parent_type: match tier {
            Tier::Template => Some(ParentType::Template),
            Tier::Scenario => Some(ParentType::Scenario),
            Tier::EdgeCase => None,
        },
        parameters,
        review_history: vec![ReviewAction {
            id: format!("rev-{i}"),
            action: "approved".into(),
            performed_by: "reviewer-1".into(),
            timestamp: updated.as_str().to_owned(),
            comment: (i % 2 == 0).then(|| "Looks good — \"ship it\"".to_owned()),
        }],
        created_at: Some(created),
        updated_at: Some(updated),
        turns,
        tools: Vec::new(),
        preference: None,
        preference_input: Default::default(),
        user_fields: serde_json::Map::new(),
    }
}

fn main() {
    let mut count: u64 = 50_000;
    let mut seed: u64 = 7;
    let mut output = String::from("-");
    let mut turn_chars = (90, 1500);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--count" => count = value.parse().unwrap_or_else(|e| fail(&format!("--count: {e}"))),
            "--seed" => seed = value.parse().unwrap_or_else(|e| fail(&format!("--seed: {e}"))),
            "--output" => output = value,
            "--shape" => {
                turn_chars = match value.as_str() {
                    "long" => (90, 1500),
                    "short" => (40, 160),
                    _ => fail(&format!("--shape {value}: long or short")),
                }
            }
            _ => fail(&format!("unknown flag {flag}")),
        }
    }
    let sink: Box<dyn Write> = if output == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(&output).unwrap_or_else(|e| fail(&format!("{output}: {e}"))))
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    let mut rng = Rng(seed);
    for i in 0..count {
        serde_json::to_writer(&mut out, &conversation(&mut rng, i, turn_chars))
            .expect("conversation serialises");
        out.write_all(b"\n").unwrap_or_else(|e| fail(&e.to_string()));
    }
    out.flush().unwrap_or_else(|e| fail(&e.to_string()));
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2);
}
