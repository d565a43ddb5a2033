//! Optional answers: asks the configured OpenAI-compatible LLM to answer a question from the
//! assembled context, citing its passages. Off by default; the service works fully without an LLM.

use crate::Result;
use crate::llm::{ChatMessage, LlmClient};
use crate::query::Answer;

const SYSTEM: &str = "Answer the question using only the context. Cite the passages you use \
with their tags exactly as written, e.g. [report-2019 · 2019]. If the context does not contain \
the answer, say so. Be concise.";

fn messages(question: &str, context: &str) -> [ChatMessage; 2] {
    let user = format!("Context:\n\"\"\"\n{context}\n\"\"\"\n\nQuestion: {question}");
    [ChatMessage::system(SYSTEM), ChatMessage::user(user)]
}

/// Asks the LLM for an answer from `context`.
pub fn answer(client: &LlmClient, question: &str, context: &str) -> Result<Answer> {
    let text = client.chat_text(&messages(question, context))?;
    Ok(Answer {
        text: text.trim().to_string(),
        model: client.config().model.clone(),
    })
}

/// [`answer`], streamed: each piece of the reply goes to `on_token` as the LLM sends it (see
/// [`LlmClient::chat_text_stream`]); the whole answer is returned at the end.
pub fn answer_stream(
    client: &LlmClient,
    question: &str,
    context: &str,
    on_token: &mut dyn FnMut(&str) -> bool,
) -> Result<Answer> {
    let text = client.chat_text_stream(&messages(question, context), on_token)?;
    Ok(Answer {
        text: text.trim().to_string(),
        model: client.config().model.clone(),
    })
}
