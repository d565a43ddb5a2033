//! A fake OpenAI-compatible server for tests: plain `std::net`, one thread per connection,
//! `Connection: close` after every answer.
//!
//! Routes match on the request path and, optionally, on a substring of the request body (a
//! marker in the chunk text, say). A route answers with a script of replies — the first match
//! gets the first reply, the next match the next one, the last one repeats — so a retry can be
//! answered differently from the first try. Replies are recorded HTTP answers kept as JSON files
//! in `tests/fixtures/llm/` (`{"status", "delay_ms"?, "body"}`), or the built-in embeddings
//! answer, which returns deterministic vectors (see [`fake_embedding`]) in reverse order.
//!
//! The server logs every request and counts the most requests ever in flight at once. It stops
//! on drop; a reply that is being delayed is cut short.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Value, json};

/// The chat completions path.
pub const CHAT: &str = "/v1/chat/completions";
/// The embeddings path.
pub const EMBEDDINGS: &str = "/v1/embeddings";

/// One answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A recorded answer.
    Fixed {
        /// HTTP status.
        status: u16,
        /// Body, sent as is.
        body: String,
        /// Wait this long before answering.
        delay: Duration,
    },
    /// Deterministic embeddings of the request's `input` with this many dimensions.
    Embeddings(usize),
    /// A streamed chat completion (`text/event-stream`, as OpenAI streams with `"stream":
    /// true`): one `data:` event per piece, `gap` apart, then `data: [DONE]`.
    Stream {
        /// The pieces of the message, in order.
        pieces: Vec<String>,
        /// Wait between two pieces.
        gap: Duration,
    },
}

impl Reply {
    /// A recorded reply from `tests/fixtures/llm/{name}.json`.
    pub fn fixture(name: &str) -> Reply {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/llm")
            .join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        let body = match &v["body"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Reply::Fixed {
            status: v["status"].as_u64().unwrap_or(200) as u16,
            body,
            delay: Duration::from_millis(v["delay_ms"].as_u64().unwrap_or(0)),
        }
    }

    /// A chat completion whose message content is `content`.
    pub fn chat(content: &str) -> Reply {
        Reply::Fixed {
            status: 200,
            body: chat_completion(content).to_string(),
            delay: Duration::ZERO,
        }
    }

    /// A streamed chat completion of `pieces`, `gap` apart.
    pub fn stream(pieces: &[&str], gap: Duration) -> Reply {
        Reply::Stream {
            pieces: pieces.iter().map(|p| p.to_string()).collect(),
            gap,
        }
    }

    /// The same reply, sent after `delay`.
    pub fn delayed(self, delay: Duration) -> Reply {
        match self {
            Reply::Fixed { status, body, .. } => Reply::Fixed {
                status,
                body,
                delay,
            },
            other => other,
        }
    }
}

/// A chat completion body as OpenAI sends it, with `content` as the message.
pub fn chat_completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_727_000_000,
        "model": "fake-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    })
}

/// The (unnormalised) vector the fake server returns for `text`: a deterministic function of
/// the text, with entries in [-1, 1] and never all zero.
pub fn fake_embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (0..dims)
        .map(|i| {
            h = h
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let x = ((h >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0;
            if i == 0 { x + 3.0 } else { x }
        })
        .collect()
}

/// A route: a path, an optional body marker, and the script of replies.
#[derive(Debug)]
pub struct Route {
    path: String,
    body_contains: Option<String>,
    replies: Vec<Reply>,
    served: AtomicUsize,
}

impl Route {
    /// A route on `path` answering `reply`.
    pub fn new(path: &str, reply: Reply) -> Route {
        Route {
            path: path.to_string(),
            body_contains: None,
            replies: vec![reply],
            served: AtomicUsize::new(0),
        }
    }

    /// A chat completions route answering `reply`.
    pub fn chat(reply: Reply) -> Route {
        Route::new(CHAT, reply)
    }

    /// An embeddings route with `dims`-dimensional vectors.
    pub fn embeddings(dims: usize) -> Route {
        Route::new(EMBEDDINGS, Reply::Embeddings(dims))
    }

    /// Only requests whose body contains `marker` match.
    pub fn when(mut self, marker: &str) -> Route {
        self.body_contains = Some(marker.to_string());
        self
    }

    /// The reply to the next match (the last reply repeats).
    pub fn then(mut self, reply: Reply) -> Route {
        self.replies.push(reply);
        self
    }

    fn matches(&self, path: &str, body: &str) -> bool {
        self.path == path
            && self
                .body_contains
                .as_deref()
                .is_none_or(|m| body.contains(m))
    }

    fn next_reply(&self) -> Reply {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        self.replies[n.min(self.replies.len() - 1)].clone()
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    /// Path.
    pub path: String,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// Body, as received.
    pub body: String,
}

impl Request {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The `content` of every chat message, in order.
    pub fn messages(&self) -> Vec<String> {
        self.json()["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|x| x["content"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct State {
    routes: Vec<Route>,
    log: Mutex<Vec<Request>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// The running fake server; stops on drop.
#[derive(Debug)]
pub struct FakeOpenAi {
    addr: SocketAddr,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeOpenAi {
    /// Starts a server on `127.0.0.1:0` with `routes` (first match wins).
    pub fn start(routes: Vec<Route>) -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            routes,
            ..State::default()
        });
        let st = state.clone();
        let acceptor = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let st2 = st.clone();
                let worker = std::thread::spawn(move || serve(&st2, stream));
                st.workers.lock().push(worker);
            }
        });
        FakeOpenAi {
            addr,
            state,
            acceptor: Some(acceptor),
        }
    }

    /// The base URL to configure clients with (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.log.lock().clone()
    }

    /// How many requests were received.
    pub fn calls(&self) -> usize {
        self.state.log.lock().len()
    }

    /// The most requests that were ever being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        let workers = std::mem::take(&mut *self.state.workers.lock());
        for w in workers {
            let _ = w.join();
        }
    }
}

/// Answers one connection (one request).
fn serve(st: &State, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(req) = read_request(&stream) else {
        return;
    };
    let now = st.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    st.max_in_flight.fetch_max(now, Ordering::SeqCst);
    st.log.lock().push(req.clone());
    let (status, body, delay) = match st.routes.iter().find(|r| r.matches(&req.path, &req.body)) {
        Some(route) => match route.next_reply() {
            Reply::Fixed {
                status,
                body,
                delay,
            } => (status, body, delay),
            Reply::Embeddings(dims) => (200, embeddings_reply(&req, dims), Duration::ZERO),
            Reply::Stream { pieces, gap } => {
                st.in_flight.fetch_sub(1, Ordering::SeqCst);
                stream_reply(st, &stream, &pieces, gap);
                return;
            }
        },
        None => (
            404,
            json!({"error": {"message": format!("no fake route for {}", req.path), "type": "invalid_request_error"}})
                .to_string(),
            Duration::ZERO,
        ),
    };
    let until = Instant::now() + delay;
    while Instant::now() < until && !st.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        if status < 400 { "OK" } else { "Error" },
        body.len()
    );
    // No longer in flight from here on: once the reply is written the client may free its slot
    // and send the next request before this thread runs again, and counting this one then would
    // report one more request in flight than the client ever had. (Until the reply is written
    // the client is still waiting, so every request counted here is one it has in flight.)
    st.in_flight.fetch_sub(1, Ordering::SeqCst);
    // The client may have given up (timeout): write errors are expected then.
    let mut w = &stream;
    let _ = w
        .write_all(head.as_bytes())
        .and_then(|_| w.write_all(body.as_bytes()));
    let _ = w.flush();
}

/// Writes a streamed chat completion: the head, then each piece as a `chat.completion.chunk`
/// event flushed at once, `gap` apart, then `[DONE]`; the connection closes at the end.
fn stream_reply(st: &State, stream: &TcpStream, pieces: &[String], gap: Duration) {
    let mut w = stream;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    if w.write_all(head.as_bytes())
        .and_then(|_| w.flush())
        .is_err()
    {
        return;
    }
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            let until = Instant::now() + gap;
            while Instant::now() < until && !st.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let chunk = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1_727_000_000,
            "model": "fake-model",
            "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]
        });
        if w.write_all(format!("data: {chunk}\n\n").as_bytes())
            .and_then(|_| w.flush())
            .is_err()
        {
            return;
        }
    }
    let _ = w.write_all(b"data: [DONE]\n\n").and_then(|_| w.flush());
}

/// Reads one HTTP/1.1 request with a `content-length` body.
fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut len = 0usize;
    let mut authorization = None;
    loop {
        line.clear();
        r.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().ok()?,
            "authorization" => authorization = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(Request {
        path,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An embeddings answer for the request's inputs, listed in reverse order (clients must sort by
/// `index`).
fn embeddings_reply(req: &Request, dims: usize) -> String {
    let v = req.json();
    let inputs: Vec<String> = match &v["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect(),
        _ => vec![],
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_embedding(t, dims)}))
        .collect();
    json!({
        "object": "list",
        "data": data,
        "model": v["model"],
        "usage": {"prompt_tokens": inputs.len(), "total_tokens": inputs.len()}
    })
    .to_string()
}
