//! The `chronorag` command line: serve, ingest, query, history, governance and maintenance.
//! Each subcommand parses its flags, calls one [`chronorag::Engine`] method and prints the result
//! (readable by default, JSON with `--json`). User mistakes print a message to stderr and exit
//! with a non-zero code; they never panic.

mod cli;

/// mimalloc instead of glibc's malloc: the ingest path allocates many small, short-lived
/// records from several threads, where glibc spent about 16% of the CPU and kept freed memory
/// (measured on the news corpus; see the README's Performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    no_transparent_huge_pages();
    cli::main()
}

/// Turns transparent huge pages off for this process. mimalloc asks for them on its arenas, and
/// then gives freed parts back to the system: every later touch of such a part faulted in and
/// zeroed a whole 2 MiB page. On the news load that was about a tenth of the CPU (3–4 s of
/// system time) and 70–110 MB more peak memory (see the README's Performance section).
/// `MIMALLOC_ALLOW_THP=1` in the environment keeps them on.
#[cfg(target_os = "linux")]
fn no_transparent_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some_and(|v| v == "1") {
        return;
    }
    // SAFETY: prctl with integer arguments only; it sets a flag of this process, which the
    // kernel reads at each page fault (so memory reserved before `main` is covered too).
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_transparent_huge_pages() {}

/// Dies quietly when the reader of stdout goes away (`chronorag facts list | head`), like other
/// command-line tools, instead of panicking on a broken pipe. Not for `serve`: a client closing
/// its connection must not kill the service.
#[cfg(unix)]
pub fn restore_sigpipe() {
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: resetting a signal disposition to its default before any thread is started.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
pub fn restore_sigpipe() {}
