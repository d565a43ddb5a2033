//! The HTTP plumbing shared by every OpenAI-compatible client in the crate (chat completions here,
//! embeddings in `embed::openai`): one blocking `ureq` agent per endpoint, bearer auth, a global
//! per-request timeout, and failures turned into short messages that say what to check.
//!
//! Errors are plain `String`s so that each caller wraps them in its own variant
//! ([`crate::Error::Llm`], [`crate::Error::Embed`]).

use std::time::Duration;

use serde_json::Value;

/// Longest part of a remote body quoted in an error message (bytes).
const QUOTE_LIMIT: usize = 300;

/// An OpenAI-compatible endpoint: base URL, credentials and timeout.
pub(crate) struct Endpoint {
    agent: ureq::Agent,
    base_url: String,
    api_key: Option<String>,
    timeout_secs: u64,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl Endpoint {
    /// Checks the settings and builds the agent. `section` names the config section in messages.
    pub(crate) fn new(
        section: &str,
        base_url: &str,
        api_key: Option<&str>,
        api_key_env: Option<&str>,
        timeout_secs: u64,
    ) -> Result<Self, String> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(format!(
                "{section}.base_url {base_url:?} must start with http:// or https:// (e.g. \"http://127.0.0.1:11434/v1\")"
            ));
        }
        if timeout_secs == 0 {
            return Err(format!("{section}.timeout_secs must be at least 1"));
        }
        let api_key = resolve_api_key(api_key, api_key_env);
        let agent = ureq::Agent::config_builder()
            // Statuses are read and reported with the server's body, not as bare codes.
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(timeout_secs)))
            .user_agent(concat!("chronorag/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Endpoint {
            agent,
            base_url,
            api_key,
            timeout_secs,
        })
    }

    /// `{base_url}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// POSTs `body` as JSON to `url` with the endpoint's credentials, asking for `accept`.
    fn send(
        &self,
        url: &str,
        body: &Value,
        accept: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let payload =
            serde_json::to_vec(body).map_err(|e| format!("cannot encode request: {e}"))?;
        let mut req = self
            .agent
            .post(url)
            .header("content-type", "application/json")
            .header("accept", accept);
        if let Some(key) = &self.api_key {
            req = req.header("authorization", &format!("Bearer {key}"));
        }
        req.send(&payload[..]).map_err(|e| self.describe(url, e))
    }

    /// POSTs a JSON body to `{base_url}{path}` and returns the parsed JSON reply of a 2xx answer.
    pub(crate) fn post_json(&self, path: &str, body: &Value) -> Result<Value, String> {
        let url = self.url(path);
        let mut resp = self.send(&url, body, "application/json")?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| self.describe(&url, e))?;
        if !(200..300).contains(&status) {
            return Err(format!(
                "{url} answered HTTP {status}: {}",
                quote(&server_message(&text))
            ));
        }
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{url} answered with a body that is not JSON ({e}): {}",
                quote(&text)
            )
        })
    }

    /// POSTs a JSON body to `{base_url}{path}` and reads a streamed (`text/event-stream`) reply
    /// line by line, handing each line to `on_line` until it returns `false` or the reply ends.
    /// A server that answers with one JSON body instead (it does not stream) gets that body
    /// returned, parsed; a streamed reply returns `None`.
    pub(crate) fn post_stream(
        &self,
        path: &str,
        body: &Value,
        on_line: &mut dyn FnMut(&str) -> Result<bool, String>,
    ) -> Result<Option<Value>, String> {
        use std::io::BufRead;
        let url = self.url(path);
        let resp = self.send(&url, body, "text/event-stream")?;
        let status = resp.status().as_u16();
        let streamed = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/event-stream"));
        let mut body = resp.into_body();
        if !(200..300).contains(&status) || !streamed {
            let text = body.read_to_string().map_err(|e| self.describe(&url, e))?;
            if !(200..300).contains(&status) {
                return Err(format!(
                    "{url} answered HTTP {status}: {}",
                    quote(&server_message(&text))
                ));
            }
            return serde_json::from_str(&text).map(Some).map_err(|e| {
                format!(
                    "{url} answered with a body that is not JSON ({e}): {}",
                    quote(&text)
                )
            });
        }
        let mut reader = std::io::BufReader::new(body.as_reader());
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("reading the stream from {url} failed: {e}"))?;
            if n == 0 || !on_line(line.trim_end_matches(['\r', '\n']))? {
                return Ok(None);
            }
        }
    }

    /// A transport failure, said so that the reader knows what to check.
    fn describe(&self, url: &str, e: ureq::Error) -> String {
        use std::io::ErrorKind;
        match e {
            ureq::Error::Timeout(which) => {
                let phase = match which {
                    ureq::Timeout::Connect | ureq::Timeout::Resolve => "connecting",
                    _ => "waiting for the reply",
                };
                format!(
                    "request to {url} timed out while {phase}: no complete reply within timeout_secs = {}s (the per-request timeout)",
                    self.timeout_secs
                )
            }
            ureq::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => format!(
                "cannot connect to {url}: connection refused (is the server running and is base_url right?)"
            ),
            ureq::Error::Io(io) if io.kind() == ErrorKind::TimedOut => format!(
                "request to {url} timed out: {io} (timeout_secs = {}s)",
                self.timeout_secs
            ),
            ureq::Error::Io(io) => format!("request to {url} failed: {io}"),
            ureq::Error::HostNotFound => {
                format!("cannot connect to {url}: host not found (check base_url)")
            }
            ureq::Error::ConnectionFailed => format!("cannot connect to {url}"),
            other => format!("request to {url} failed: {other}"),
        }
    }
}

/// The key in the config, else the one in the named environment variable; empty means none.
fn resolve_api_key(api_key: Option<&str>, api_key_env: Option<&str>) -> Option<String> {
    let nonempty = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    match api_key {
        Some(k) => nonempty(k.to_string()),
        None => api_key_env
            .filter(|v| !v.is_empty())
            .and_then(|v| std::env::var(v).ok())
            .and_then(nonempty),
    }
}

/// The `error.message` of an OpenAI-style error body, else the body itself.
fn server_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            e.get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.to_string())
}

/// A remote text cut to [`QUOTE_LIMIT`] bytes for an error message.
pub(crate) fn quote(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return "(empty body)".to_string();
    }
    if s.len() <= QUOTE_LIMIT {
        return s.to_string();
    }
    let mut end = QUOTE_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let e = Endpoint::new("llm", "localhost:11434/v1", None, None, 5).unwrap_err();
        assert!(e.contains("llm.base_url"), "{e}");
        let e = Endpoint::new("llm", "http://x/v1", None, None, 0).unwrap_err();
        assert!(e.contains("timeout_secs"), "{e}");
        let ok = Endpoint::new("llm", " http://x/v1/ ", None, None, 5).unwrap();
        assert_eq!(ok.url("/chat/completions"), "http://x/v1/chat/completions");
    }

    #[test]
    fn api_key_prefers_the_config_then_the_environment() {
        assert_eq!(resolve_api_key(Some(" k "), Some("PATH")), Some("k".into()));
        assert_eq!(resolve_api_key(Some(""), Some("PATH")), None);
        assert_eq!(
            resolve_api_key(None, Some("CHRONORAG_TEST_SURELY_UNSET_VAR")),
            None
        );
        assert!(resolve_api_key(None, Some("PATH")).is_some());
        assert_eq!(resolve_api_key(None, None), None);
    }

    #[test]
    fn server_errors_are_quoted_briefly() {
        assert_eq!(
            server_message(r#"{"error":{"message":"model not found","type":"x"}}"#),
            "model not found"
        );
        assert_eq!(server_message("plain text"), "plain text");
        let long = "é".repeat(400);
        let q = quote(&long);
        assert!(
            q.len() < QUOTE_LIMIT + 40 && q.ends_with("(800 bytes in all)"),
            "{q}"
        );
        assert_eq!(quote("  "), "(empty body)");
    }
}
