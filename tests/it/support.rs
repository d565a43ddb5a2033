//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chronorag::ingest::IngestOptions;
use chronorag::ingest::input::{self, ReadItem};
use chronorag::{Config, Engine};

use chronorag::model::{Fact, FactObject, FactOrigin, Status, TxId};
use chronorag::time::{Interval, TimeKey};

/// The `chronorag` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chronorag"))
}

/// A fresh temporary folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// A fact at a calendar unit, ready for a write set (id and tx to be filled in).
pub fn fact(id: u64, subject: u64, desc: &str, key: &str, tx: TxId) -> Fact {
    let k = TimeKey::parse(key).expect("key");
    Fact {
        id,
        subject,
        object: FactObject::Literal(String::new()),
        description: desc.to_string(),
        valid: k.interval(),
        granularity: k.granularity(),
        time_key: Some(k),
        time_inherited: false,
        sources: vec![],
        confidence: 0.9,
        origin: FactOrigin::Manual("test".into()),
        invalid_from: None,
        invalidated_by: None,
        status: Status::Active,
        asserted_tx: tx,
        retracted_tx: None,
        updated_tx: tx,
    }
}

/// A fact over an arbitrary interval.
pub fn fact_over(id: u64, subject: u64, desc: &str, valid: Interval, tx: TxId) -> Fact {
    let mut f = fact(id, subject, desc, "2000", tx);
    f.valid = valid;
    f.time_key = TimeKey::from_interval(&valid);
    f
}

/// The Time-LongQA folder, when present.
pub fn longqa() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/time-longqa");
    if p.join("corpus").is_dir() {
        Some(p)
    } else {
        skipped(&format!(
            "the Time-LongQA data set is not at {} (this test needs it)",
            p.display()
        ));
        None
    }
}

/// Reports a test that cannot run here. `cargo test` hides a passing test's output, so
/// `scripts/test.sh` also lists what the machine lacks; with `CHRONORAG_TEST_STRICT=1` the test
/// fails instead.
pub fn skipped(why: &str) {
    if std::env::var_os("CHRONORAG_TEST_STRICT").is_some_and(|v| v == "1") {
        panic!("cannot run (CHRONORAG_TEST_STRICT=1): {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// An engine over an existing data folder.
pub fn engine_at(data: &Path) -> Engine {
    Engine::open(Config::with_data_dir(data)).expect("open engine")
}

/// A store with the whole Time-LongQA corpus ingested once per test process (namespace
/// `default`); None (with a message) when the data set is absent.
pub struct Audi {
    /// Keeps the folder alive.
    _dir: tempfile::TempDir,
    /// The engine.
    pub engine: Engine,
}

static AUDI: OnceLock<Option<Audi>> = OnceLock::new();

/// The shared store's folder. A static is never dropped, so its `TempDir` alone left the folder
/// (about 50 MB) behind after every run of the tests; it is removed when the process exits.
static AUDI_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_audi_dir() {
    if let Some(p) = AUDI_DIR.get() {
        let _ = std::fs::remove_dir_all(p);
    }
}

/// The shared Audi store.
pub fn audi() -> Option<&'static Audi> {
    AUDI.get_or_init(|| {
        let corpus = longqa()?.join("corpus");
        let dir = tmp();
        if AUDI_DIR.set(dir.path().to_path_buf()).is_ok() {
            // SAFETY: registers a plain function to run at exit; it only reads a static set
            // above and removes a folder.
            unsafe {
                libc::atexit(remove_audi_dir);
            }
        }
        let engine = engine_at(&dir.path().join("data"));
        let (files, _) = input::list_files(&[corpus]).unwrap();
        let mut docs = Vec::new();
        for f in files {
            input::read_file(&f.path, Some(&f.id), &mut |it| {
                if let ReadItem::Document { doc, .. } = it {
                    docs.push(*doc);
                }
                input::Flow::Continue(())
            });
        }
        assert_eq!(docs.len(), 12);
        engine
            .ingest("default", docs, &IngestOptions::default())
            .expect("ingest the corpus");
        Some(Audi { _dir: dir, engine })
    })
    .as_ref()
}

/// A real `chronorag serve` on an ephemeral loopback port, killed on drop.
pub struct Server {
    child: Option<std::process::Child>,
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The data folder.
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    agent: ureq::Agent,
    /// API key sent with every request, if set.
    pub key: Option<String>,
}

/// An HTTP response: status and body (JSON when it parses).
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub text: String,
    /// Headers of interest.
    pub retry_after: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Security-Policy`.
    pub csp: Option<String>,
}

impl Resp {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The message of an error body.
    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Server {
    /// Where a server's standard error goes: beside its data folder.
    fn log_path(data: &Path) -> PathBuf {
        data.with_extension("serve.log")
    }

    /// Starts a server with a fresh data folder and extra arguments / config TOML.
    pub fn start(extra_args: &[&str], config_toml: Option<&str>) -> Server {
        let dir = tmp();
        let data = dir.path().join("data");
        Self::start_at(&data, extra_args, config_toml, Some(dir))
    }

    /// Starts a server on an existing data folder.
    pub fn start_at(
        data: &Path,
        extra_args: &[&str],
        config_toml: Option<&str>,
        dir: Option<tempfile::TempDir>,
    ) -> Server {
        use std::io::{BufRead, BufReader};
        let mut cmd = std::process::Command::new(bin());
        cmd.arg("--data").arg(data);
        if let Some(c) = config_toml {
            let p = data.with_extension("toml");
            std::fs::create_dir_all(data.parent().unwrap()).unwrap();
            std::fs::write(&p, c).unwrap();
            cmd.arg("--config").arg(p);
        }
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra_args)
            .env_remove("CHRONORAG_DATA")
            .env("CHRONORAG_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(
                std::fs::File::create(Self::log_path(data)).expect("server log beside the data"),
            );
        let mut child = cmd.spawn().expect("start chronorag serve");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .into();
        Server {
            child: Some(child),
            url,
            data: data.to_path_buf(),
            _dir: dir,
            agent,
            key: None,
        }
    }

    /// Uses a new connection for every request (a server may close a connection after
    /// rejecting a request whose body it did not read; hostile-input tests must not trip over
    /// that).
    pub fn fresh_connections(mut self) -> Self {
        self.agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections_per_host(0)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .into();
        self
    }

    /// Sends a request with optional raw body and content type.
    pub fn request(&self, method: &str, path: &str, body: Option<(&str, Vec<u8>)>) -> Resp {
        self.request_with(method, path, &[], body)
    }

    /// [`Server::request`] with extra headers.
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let url = format!("{}{}", self.url, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(k) = &self.key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = match body {
            Some((ct, bytes)) => {
                let req = req.header("Content-Type", ct).body(bytes).unwrap();
                self.agent.run(req)
            }
            // An empty body as curl, browsers and the Python client send it: `Content-Length:
            // 0`. ureq would stream a chunked body for POST, PUT and PATCH instead; a handler
            // that takes no body answers before the last chunk arrives, and hyper then closes
            // the connection rather than wait for it, so the next request on it (from ureq's
            // pool) could meet a closed socket on a loaded machine.
            None if matches!(method, "POST" | "PUT" | "PATCH") => {
                self.agent.run(req.body(Vec::<u8>::new()).unwrap())
            }
            None => self.agent.run(req.body(()).unwrap()),
        }
        .expect("http request");
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let retry_after = header("retry-after");
        let content_type = header("content-type");
        let csp = header("content-security-policy");
        let text = resp.into_body().read_to_string().unwrap_or_default();
        Resp {
            status,
            text,
            retry_after,
            content_type,
            csp,
        }
    }

    /// GET.
    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, None)
    }

    /// POST JSON.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Resp {
        self.request(
            "POST",
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status and the temporary
    /// folder (to restart on the same data).
    pub fn terminate(mut self) -> (std::process::ExitStatus, Option<tempfile::TempDir>) {
        let mut child = self.child.take().unwrap();
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        (child.wait().unwrap(), self._dir.take())
    }

    /// SIGKILL; returns the temporary folder (to restart on the same data).
    pub fn kill(mut self) -> Option<tempfile::TempDir> {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self._dir.take()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // A server that ended by itself (a crash), or a failing test: show what the server
            // logged, which would otherwise be lost with the temporary folder.
            let ended = c.try_wait().ok().flatten();
            let _ = c.kill();
            let _ = c.wait();
            if ended.is_some() || std::thread::panicking() {
                let log = std::fs::read_to_string(Self::log_path(&self.data)).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                eprintln!(
                    "--- chronorag serve at {} (ended by itself: {:?}); its last log lines:\n{}",
                    self.url,
                    ended,
                    lines[lines.len().saturating_sub(60)..].join("\n")
                );
            }
        }
    }
}

/// Ingests one dated text document; returns the head transaction after it (a duplicate
/// document changes nothing, so the head stays where it was).
pub fn ingest_text(e: &Engine, ns: &str, id: &str, text: &str, time: &str) -> TxId {
    let doc = input::prepare(
        input::DocumentInput {
            id: Some(id.into()),
            text: text.into(),
            time: Some(time.into()),
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let r = e.ingest(ns, vec![doc], &IngestOptions::default()).unwrap();
    // A duplicate document changes nothing: the head stays where it was.
    r.tx.unwrap_or_else(|| e.namespace(ns).unwrap().store().head_tx())
}

/// Opens a store folder with sled itself (to tamper with its bytes), waiting up to 2 s for the
/// lock that a just-dropped engine's flusher thread still holds.
pub fn raw_sled(path: &std::path::Path) -> sled::Db {
    let start = std::time::Instant::now();
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(_) if start.elapsed() < std::time::Duration::from_secs(2) => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open {}: {e}", path.display()),
        }
    }
}

/// The external ids of a namespace's documents, sorted.
pub fn document_ids(e: &Engine, ns: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let page = e.documents(ns, after, 1000, None).unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        ids.extend(page.into_iter().map(|d| d.external_id));
    }
    ids.sort();
    ids
}

/// Copies a folder tree (store fixtures).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every fact of a namespace visible at `as_of` (the head when `None`), retracted ones
/// included, in the listing's order (all pages).
pub fn all_facts(e: &Engine, ns: &str, as_of: Option<u64>) -> Vec<chronorag::engine::FactView> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = e
            .facts(
                ns,
                &chronorag::engine::FactListParams {
                    include_retracted: true,
                    as_of_tx: as_of,
                    limit: Some(500),
                    cursor: cursor.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
        out.extend(page.facts);
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    out
}

/// Runs the `chronorag` binary on a data folder (no `CHRONORAG_DATA` from the environment).
pub fn run_cli(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("CHRONORAG_DATA")
        .output()
        .expect("run chronorag")
}

/// The test PostgreSQL server's admin URL: `scripts/postgres.sh start` (idempotent; installs
/// Debian's package when the server is missing) runs once per port and test process.
pub fn postgres_admin(port: u16) -> String {
    static URLS: OnceLock<std::sync::Mutex<std::collections::HashMap<u16, String>>> =
        OnceLock::new();
    let urls = URLS.get_or_init(Default::default);
    let mut urls = urls.lock().unwrap_or_else(|e| e.into_inner());
    urls.entry(port)
        .or_insert_with(|| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres.sh");
            let out = std::process::Command::new("bash")
                .arg(&script)
                .arg("start")
                .env("CHRONORAG_PG_PORT", port.to_string())
                .output()
                .expect("run scripts/postgres.sh");
            assert!(
                out.status.success(),
                "scripts/postgres.sh start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout)
                .expect("utf-8")
                .lines()
                .last()
                .expect("the script prints the URL")
                .trim()
                .to_string()
        })
        .clone()
}

/// The default test PostgreSQL server's port.
pub const PG_PORT: u16 = 54329;

/// A database of its own on the test PostgreSQL server for `key` (created on first use, the
/// same database for the same key: a test reopening "its folder" reopens its database).
pub fn postgres_db(key: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let name = format!("t_{:016x}", h.finish());
    chronorag::store::postgres::ensure_database(&postgres_admin(PG_PORT), &name)
        .expect("create the test database")
}

/// Runs SQL on the PostgreSQL database at `url` (test set-up only).
pub fn sql(url: &str, statements: &str) {
    pg_block_on(url, |client| async move {
        client.batch_execute(statements).await.expect("run SQL");
    });
}

/// Sessions connected to the database at `url`, besides the tests' own probes.
pub fn other_sessions(url: &str) -> i64 {
    pg_block_on(url, |client| async move {
        client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name IS DISTINCT FROM $1",
                &[&PROBE],
            )
            .await
            .expect("pg_stat_activity")
            .get(0)
    })
}

/// Waits (up to 30 s) until no other session is connected to the database at `url`: a client
/// killed in the middle of a transaction leaves its server process to finish or abort it.
pub fn wait_for_other_sessions(url: &str) {
    let start = std::time::Instant::now();
    loop {
        let others = other_sessions(url);
        if others == 0 {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{others} sessions still connected"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The `application_name` of the tests' own connections to PostgreSQL.
const PROBE: &str = "chronorag-test-probe";

fn pg_block_on<T, F, Fut>(url: &str, f: F) -> T
where
    F: FnOnce(tokio_postgres::Client) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Named, so that counting sessions leaves out the test's own probes (a probe just
        // closed may still be listed while its server process exits).
        let mut config: tokio_postgres::Config = url.parse().expect("PostgreSQL URL");
        config.application_name(PROBE);
        let (client, conn) = config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(conn);
        let out = f(client).await;
        driver.abort();
        out
    })
}

/// Asks `q` of namespace `ns` with the defaults (optionally as of a transaction).
pub fn ask(e: &Engine, ns: &str, q: &str, as_of: Option<u64>) -> chronorag::query::QueryResult {
    e.query(
        ns,
        &chronorag::query::QueryRequest {
            query: q.into(),
            as_of_tx: as_of,
            ..Default::default()
        },
    )
    .unwrap()
}
