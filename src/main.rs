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
    cli::main()
}

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
