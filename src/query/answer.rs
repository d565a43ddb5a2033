//! Optional answers: asks the configured OpenAI-compatible LLM to answer a question from the
//! assembled context, citing its passages. Off by default; the service works fully without an LLM.

use crate::Result;
use crate::llm::{ChatMessage, LlmClient};
use crate::query::Answer;

const SYSTEM: &str = "Answer the question using only the context. Cite the passages you use \
with their tags exactly as written, e.g. [report-2019 · 2019]. If the context does not contain \
the answer, say so. Be concise.";

/// Asks the LLM for an answer from `context`.
pub fn answer(client: &LlmClient, question: &str, context: &str) -> Result<Answer> {
    let user = format!("Context:\n\"\"\"\n{context}\n\"\"\"\n\nQuestion: {question}");
    let text = client.chat_text(&[ChatMessage::system(SYSTEM), ChatMessage::user(user)])?;
    Ok(Answer {
        text: text.trim().to_string(),
        model: client.config().model.clone(),
    })
}
