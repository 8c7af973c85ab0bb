//! What keeps a cold isolate's first request cheap.
//!
//! Workers compiles the wasm lazily, function by function, on first call (V8's Liftoff), so a
//! cold start pays for the functions a request runs. An `async fn` awaited inside another is
//! inlined into its caller's state machine: `routes::route` awaiting every endpoint was one
//! 126 KiB function, compiled whole by the first request to any of them. [`boxed`] keeps such a
//! future a function of its own (docs/benchmarks.md, "Cold start").

use std::future::Future;
use std::pin::Pin;

/// `future` behind its own pointer (`dyn`): its state machine is not inlined into the caller's.
/// One allocation per call; use it where a caller awaits one of several large futures.
pub(crate) fn boxed<'a, T>(
    future: impl Future<Output = T> + 'a,
) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(future)
}
