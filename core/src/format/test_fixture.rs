//! The conversation the format unit tests build their cases from.

use crate::model::Conversation;

/// Conversation `c1` (approved, template, score 8.5, persona "Anxious
/// Investor") with this title and these `(role, content)` turns.
pub(crate) fn conversation(title: &str, turns: &[(&str, &str)]) -> Conversation {
    let turns: Vec<_> = turns
        .iter()
        .map(|(role, content)| serde_json::json!({"role": role, "content": content}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "conversation_id": "c1", "title": title, "status": "approved",
        "qualityScore": 8.5, "tier": "template", "persona": "Anxious Investor",
        "createdAt": "2025-10-29T10:00:00Z", "updatedAt": "2025-10-30T09:30:00Z",
        "turns": turns,
    }))
    .unwrap()
}
