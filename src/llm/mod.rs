//! One OpenAI-compatible chat client, shared (behind an `Arc`) by everything that asks a language
//! model: fact extraction (`ingest::extract::llm`), and later time-node summaries and answers.
//!
//! The client is blocking (the engine is synchronous; the HTTP service calls it from blocking
//! threads) and bounds its own concurrency: at most [`LlmConfig::concurrency`] requests are in
//! flight at once across all its users, whoever calls it and from however many threads.
//!
//! Any server speaking `POST {base_url}/chat/completions` works: OpenAI, Ollama
//! (`http://127.0.0.1:11434/v1`), vLLM, llama.cpp's server, LM Studio...
//!
//! **Architecture invariant:** this module knows HTTP and JSON, not ChronoRAG's records. What to
//! ask and how to read the answer belongs to the caller; [`parse_json_reply`] only finds the JSON
//! value in a reply.

pub(crate) mod http;
mod reply;

use parking_lot::{Condvar, Mutex};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use reply::parse_json_reply;

use crate::{Error, Result};

/// Settings of the chat endpoint (the `[llm]` section of the config file).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL of the OpenAI-compatible API, up to and including `/v1`
    /// (e.g. `http://127.0.0.1:11434/v1`).
    pub base_url: String,
    /// Model name sent with each request.
    pub model: String,
    /// API key sent as a bearer token. Prefer [`LlmConfig::api_key_env`] so that the key stays
    /// out of config files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Environment variable holding the API key, used when `api_key` is not set (e.g.
    /// `OPENAI_API_KEY`). Not set by default, so that no key is ever sent to an endpoint that was
    /// not given one. No key at all means no `Authorization` header.
    pub api_key_env: Option<String>,
    /// Per-request timeout in seconds, from connecting to the last byte of the reply.
    pub timeout_secs: u64,
    /// Most requests in flight at once through one client.
    pub concurrency: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// Ask for a JSON object reply (`response_format: {"type": "json_object"}`). Turn off for
    /// servers that reject the field.
    pub json_mode: bool,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: String::new(),
            api_key: None,
            api_key_env: None,
            timeout_secs: 60,
            concurrency: 4,
            temperature: 0.0,
            json_mode: true,
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_env", &self.api_key_env)
            .field("timeout_secs", &self.timeout_secs)
            .field("concurrency", &self.concurrency)
            .field("temperature", &self.temperature)
            .field("json_mode", &self.json_mode)
            .finish()
    }
}

/// Who says a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The question or the material.
    User,
    /// The model's own earlier reply.
    Assistant,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message (the model's earlier reply, e.g. when asking it to correct itself).
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A blocking OpenAI-compatible chat client. `Send + Sync`; share it through an `Arc`.
#[derive(Debug)]
pub struct LlmClient {
    config: LlmConfig,
    endpoint: http::Endpoint,
    slots: Semaphore,
}

impl LlmClient {
    /// Checks the config and builds the client; nothing is sent until the first request.
    pub fn new(config: LlmConfig) -> Result<Self> {
        if config.model.trim().is_empty() {
            return Err(Error::Config(
                "llm.model is empty: name the model to use (e.g. \"gpt-4o-mini\" or \"qwen2.5:7b\")"
                    .into(),
            ));
        }
        if config.concurrency == 0 {
            return Err(Error::Config("llm.concurrency must be at least 1".into()));
        }
        if !(0.0..=2.0).contains(&config.temperature) {
            return Err(Error::Config(format!(
                "llm.temperature {} is out of range (0 to 2)",
                config.temperature
            )));
        }
        let endpoint = http::Endpoint::new(
            "llm",
            &config.base_url,
            config.api_key.as_deref(),
            config.api_key_env.as_deref(),
            config.timeout_secs,
        )
        .map_err(Error::Config)?;
        Ok(LlmClient {
            slots: Semaphore::new(config.concurrency),
            config,
            endpoint,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Sends a chat and returns the model's reply (`choices[0].message.content`). Blocks while
    /// [`LlmConfig::concurrency`] requests are already in flight.
    pub fn chat(&self, messages: &[ChatMessage]) -> Result<String> {
        self.send(messages, self.config.json_mode)
    }

    /// Like [`LlmClient::chat`] but never asks for a JSON reply (free-text answers).
    pub fn chat_text(&self, messages: &[ChatMessage]) -> Result<String> {
        self.send(messages, false)
    }

    fn send(&self, messages: &[ChatMessage], json_mode: bool) -> Result<String> {
        let mut body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "stream": false,
        });
        if json_mode {
            body["response_format"] = json!({"type": "json_object"});
        }
        let reply = {
            let _slot = self.slots.acquire();
            self.endpoint
                .post_json("/chat/completions", &body)
                .map_err(Error::Llm)?
        };
        content_of(&reply).map_err(|e| {
            Error::Llm(format!(
                "{} answered without a usable message: {e}",
                self.endpoint.url("/chat/completions")
            ))
        })
    }

    /// Like [`LlmClient::chat_text`], but asks the server to stream (`"stream": true`) and hands
    /// each piece of the reply to `on_token` as it arrives; returns the whole reply. When
    /// `on_token` returns `false` (the reader went away) the request is abandoned and the text
    /// so far is returned. A server that does not stream gets its one reply handed over whole.
    pub fn chat_text_stream(
        &self,
        messages: &[ChatMessage],
        on_token: &mut dyn FnMut(&str) -> bool,
    ) -> Result<String> {
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "stream": true,
        });
        let url = self.endpoint.url("/chat/completions");
        let mut text = String::new();
        let mut on_line = |line: &str| -> std::result::Result<bool, String> {
            // Server-sent events: only `data:` lines carry anything; comments and other
            // fields are skipped.
            let Some(data) = line.strip_prefix("data:") else {
                return Ok(true);
            };
            let data = data.trim();
            if data == "[DONE]" {
                return Ok(false);
            }
            let event: Value = serde_json::from_str(data).map_err(|e| {
                format!(
                    "{url} streamed an event that is not JSON ({e}): {}",
                    http::quote(data)
                )
            })?;
            if let Some(err) = event.get("error") {
                return Err(format!(
                    "{url} streamed an error: {}",
                    http::quote(&err.to_string())
                ));
            }
            let piece = event
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .unwrap_or("");
            if piece.is_empty() {
                return Ok(true);
            }
            text.push_str(piece);
            Ok(on_token(piece))
        };
        let whole = {
            let _slot = self.slots.acquire();
            self.endpoint
                .post_stream("/chat/completions", &body, &mut on_line)
                .map_err(Error::Llm)?
        };
        if let Some(reply) = whole {
            let t = content_of(&reply)
                .map_err(|e| Error::Llm(format!("{url} answered without a usable message: {e}")))?;
            on_token(&t);
            return Ok(t);
        }
        if text.trim().is_empty() {
            return Err(Error::Llm(format!("{url} streamed no content")));
        }
        Ok(text)
    }

    /// [`LlmClient::chat`], then the reply read as JSON with [`parse_json_reply`] (code fences and
    /// prose around the JSON value are tolerated).
    pub fn chat_json<T: DeserializeOwned>(&self, messages: &[ChatMessage]) -> Result<T> {
        let text = self.chat(messages)?;
        parse_json_reply(&text).map_err(|e| Error::Llm(format!("the model's reply {e}")))
    }
}

/// `choices[0].message.content` of a chat completion, or why there is none.
fn content_of(reply: &Value) -> std::result::Result<String, String> {
    let choice = reply
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| format!("no choices in {}", http::quote(&reply.to_string())))?;
    let message = choice.get("message").ok_or_else(|| {
        format!(
            "choices[0] has no message: {}",
            http::quote(&choice.to_string())
        )
    })?;
    match message.get("content") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(format!(
            "choices[0].message.content is empty (finish_reason: {})",
            choice
                .get("finish_reason")
                .map(Value::to_string)
                .unwrap_or_else(|| "none".into())
        )),
        _ => Err(format!(
            "choices[0].message has no content: {}",
            http::quote(&message.to_string())
        )),
    }
}

/// A counting semaphore (the standard library has none).
#[derive(Debug)]
struct Semaphore {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A held slot of a [`Semaphore`]; given back on drop.
struct Slot<'a>(&'a Semaphore);

impl Semaphore {
    fn new(n: usize) -> Self {
        Semaphore {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.freed.wait(&mut free);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LlmConfig {
        LlmConfig {
            model: "m".into(),
            ..LlmConfig::default()
        }
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let c: LlmConfig = serde_json::from_str(r#"{"model":"m"}"#).unwrap();
        assert_eq!(c.timeout_secs, 60);
        assert_eq!(c.concurrency, 4);
        assert!(c.json_mode);
        assert_eq!(c.api_key_env, None, "no key is sent unless one is named");
        let e = serde_json::from_str::<LlmConfig>(r#"{"modle":"m"}"#).unwrap_err();
        assert!(e.to_string().contains("modle"), "{e}");
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let e = LlmClient::new(LlmConfig::default()).unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("llm.model")),
            "{e}"
        );
        let e = LlmClient::new(LlmConfig {
            concurrency: 0,
            ..cfg()
        })
        .unwrap_err();
        assert!(
            matches!(&e, Error::Config(m) if m.contains("concurrency")),
            "{e}"
        );
        let e = LlmClient::new(LlmConfig {
            base_url: "127.0.0.1:1/v1".into(),
            ..cfg()
        })
        .unwrap_err();
        assert!(matches!(e, Error::Config(_)));
    }

    #[test]
    fn the_key_is_not_printed() {
        let c = LlmConfig {
            api_key: Some("sk-secret".into()),
            ..cfg()
        };
        let client = LlmClient::new(c.clone()).unwrap();
        assert!(!format!("{c:?}{client:?}").contains("sk-secret"));
    }

    #[test]
    fn content_is_found_or_explained() {
        let ok = json!({"choices":[{"message":{"role":"assistant","content":"hi"}}]});
        assert_eq!(content_of(&ok).unwrap(), "hi");
        let e = content_of(&json!({"object":"chat.completion"})).unwrap_err();
        assert!(e.contains("no choices"), "{e}");
        let e = content_of(&json!({"choices":[{"message":{"content":null,"tool_calls":[]}}]}))
            .unwrap_err();
        assert!(e.contains("no content"), "{e}");
        let e =
            content_of(&json!({"choices":[{"message":{"content":""},"finish_reason":"length"}]}))
                .unwrap_err();
        assert!(e.contains("empty") && e.contains("length"), "{e}");
    }

    #[test]
    fn the_semaphore_bounds_holders() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let s = Semaphore::new(2);
        let now = AtomicUsize::new(0);
        let max = AtomicUsize::new(0);
        std::thread::scope(|sc| {
            for _ in 0..6 {
                sc.spawn(|| {
                    let _slot = s.acquire();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert!(max.load(Ordering::SeqCst) <= 2);
        assert_eq!(*s.free.lock(), 2);
    }
}
