//! The whole application as one value: the isolate's [`State`] and the MCP catalogue, built
//! once per isolate, answering a request in the two phases Workers runs it in.
//!
//! 1. [`App::respond_now`] sees the request head only ([`crate::web::head_only`]) and either
//!    answers or returns the [`Head`] it checked (URLs, Origin, verified token).
//! 2. [`App::respond_later`] takes the whole request and that [`Head`]: nothing is checked twice.
//!    Its store writes are deferred ([`crate::store::deferred`]): reads see them, and they are
//!    applied after the handler, required ones before the response is released.
//!
//! [`App::handle`] runs both phases and the commit natively, exactly as src/edge does on Workers.

use crate::config::{Config, Mode};
use crate::env::{Clock, Services};
use crate::logs;
use crate::mcp::server::Server;
use crate::routes::{self, Head, Step};
use crate::state::State;
use crate::store::deferred::{self, Deferred};
use crate::store::StoreError;
use crate::web::{self, Reply, Request, Response};
use http::StatusCode;

pub struct App {
    pub state: State,
    /// The MCP catalogue (with the conformance fixtures only in the conformance environment).
    pub server: Server,
}

impl App {
    /// Builds the app. In development, missing secrets are generated once and kept in KV.
    pub async fn new(config: Config, services: &Services<'_>) -> Result<App, StoreError> {
        let server = Server::new(&config.catalog, config.mode == Mode::Conformance);
        Ok(App { state: State::new(config, services).await?, server })
    }

    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// Answers a request the way Workers does: [`App::respond_now`] on its head, else
    /// [`App::respond_later`] on the whole request, with its writes committed to
    /// `services.store` afterwards ([`deferred::commit`]; a failed required write answers 503).
    pub async fn handle(&self, req: Request, services: &Services<'_>) -> Response {
        let (log_head, started) = (logs::Head::of(&req), services.clock.now_ms());
        let res = self.handle_unlogged(req, services).await;
        let now = services.clock.now_ms();
        let level = self.state.config.request_log;
        logs::access(level, &log_head, &res, now, now.saturating_sub(started), services.random);
        res
    }

    async fn handle_unlogged(&self, req: Request, services: &Services<'_>) -> Response {
        let head = match self.respond_now(&web::head_only(&req), services.clock) {
            Step::Answer(res) => return res,
            Step::Continue(head) => head,
        };
        let store = Deferred::new(services.store);
        let res = {
            let services = Services {
                store: &store,
                clock: services.clock,
                random: services.random,
                limiter: services.limiter,
                fetch: services.fetch,
                rendezvous: services.rendezvous,
                tasks: services.tasks,
                ledger: services.ledger,
                hasher: services.hasher,
                verifier: services.verifier,
                signer: services.signer,
            };
            // A streamed reply runs to its end here (native callers want the whole response;
            // tests that talk to a streaming call use [`App::serve`]).
            self.respond_later(req, head, &services).await.collect().await
        };
        match deferred::commit(services.store, store.take_writes()).await {
            Ok(()) => res,
            Err(e) => web::unavailable(&e.to_string()),
        }
    }

    /// Phase 1: the answer to a request that needs neither its body nor the store, from its
    /// method, URI and [`crate::web::HEAD_HEADERS`]; or what was checked, for phase 2.
    pub fn respond_now(&self, req: &Request, clock: &dyn Clock) -> Step {
        let config = &self.state.config;
        // Development and conformance settings (demo users, generated keys, or no auth at all)
        // only answer on loopback or an explicitly configured host: an accidental
        // `wrangler deploy` without `--env production` must not expose alice/alice.
        if config.mode != Mode::Production && !self.state.host_allowed(req) {
            return Step::Answer(web::error(
                StatusCode::FORBIDDEN,
                "development_settings",
                "this deployment runs development settings (demo users) and only answers on localhost; deploy with `wrangler deploy --env production`",
            ));
        }
        if config.mode == Mode::Conformance {
            log::warn!(
                "AUTHORIZATION IS OFF (MCP_EDGE_ENV=conformance): never expose this deployment"
            );
        }
        let step = routes::route_now(&self.state, req, clock);
        if matches!(step, Step::Continue(_)) && declared_length(req) > config.max_body_bytes {
            return Step::Answer(too_large(config.max_body_bytes));
        }
        step
    }

    /// Phase 2: the answer to a request [`App::respond_now`] continued, with its [`Head`]:
    /// whole, or streamed (a legacy call that waits for its client's input).
    pub async fn respond_later<'a>(
        &'a self,
        req: Request,
        head: Head,
        services: &'a Services<'a>,
    ) -> Reply<'a> {
        let limit = self.state.config.max_body_bytes;
        if req.body().len() > limit {
            return too_large(limit).into();
        }
        routes::route(&self.state, &self.server, req, head, services).await
    }

    /// Both phases, with a streamed reply left streaming: for native tests that talk to a call
    /// while it runs (answer its questions from another app instance, resume its stream).
    /// Writes go straight to `services.store`, without [`App::handle`]'s deferred commit.
    pub async fn serve<'a>(&'a self, req: Request, services: &'a Services<'a>) -> Reply<'a> {
        match self.respond_now(&web::head_only(&req), services.clock) {
            Step::Answer(res) => res.into(),
            Step::Continue(head) => self.respond_later(req, head, services).await,
        }
    }
}

/// The request's `Content-Length`, or 0.
fn declared_length(req: &Request) -> usize {
    web::request_header(req, "content-length").and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// 413 for a body over `MAX_BODY_BYTES` (declared or read).
pub fn too_large(limit: usize) -> Response {
    web::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("request body exceeds {limit} bytes"),
    )
}
