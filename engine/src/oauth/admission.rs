//! Who may still hold a grant: at every refresh the person behind it is checked against the
//! configuration as it is now (`USERS`, or `ACCESS_RULES` applied to the identity the upstream
//! sign-in kept), so removing someone, or a scope from them, ends their access at their next
//! refresh at the latest (docs/security.md states the bound).

use super::upstream;
use crate::config::SCOPE_MCP;
use crate::env::Services;
use crate::state::State;
use crate::store::records::GrantRecord;
use crate::store::StoreError;

/// The ledger key of `item` of a grant: in the shard of the person it was granted to (one
/// Durable Object per person, near them, warm while they use it), so a grant's code, refresh
/// generations and revocation mark are checked together in one atomic step.
pub(crate) fn ledger_key(grant: &GrantRecord, item: &str) -> String {
    grant_item(&grant.sub, &grant.grant_id, item)
}

fn grant_item(sub: &str, grant_id: &str, item: &str) -> String {
    format!("person:{}/grant:{grant_id}:{item}", crate::crypto::sha256_b64(sub))
}

/// The ledger key that marks a grant revoked: every location's token endpoint sees it at once
/// (a deleted KV record reaches other locations up to 60 s later, and a refresh there could
/// write the grant back).
pub(crate) fn revoked_key(grant: &GrantRecord) -> String {
    ledger_key(grant, "revoked")
}

/// Marks `grant_id` revoked in the ledger, for as long as any grant could live.
async fn mark_revoked(
    state: &State,
    services: &Services<'_>,
    grant_id: &str,
    sub: &str,
) -> Result<(), StoreError> {
    let until = services.clock.now().saturating_add(state.config.max_grant_age);
    let key = grant_item(sub, grant_id, "revoked");
    services.ledger.claim(&key, until, None).await.map(|_| ())
}

/// Revokes a grant: marked in the ledger (refused at every location at once), deleted from KV
/// with its account index, and forgotten by this isolate (its access tokens stop here now,
/// elsewhere within `GRANT_RECHECK_SECS`). The one way every revocation goes.
pub(crate) async fn revoke_id(
    state: &State,
    services: &Services<'_>,
    grant_id: &str,
    sub: &str,
) -> Result<(), StoreError> {
    mark_revoked(state, services, grant_id, sub).await?;
    services.store.delete(&GrantRecord::key(grant_id)).await?;
    services.store.delete(&crate::store::records::user_grant_key(sub, grant_id)).await?;
    state.live_grants.remove(grant_id);
    Ok(())
}

/// [`revoke_id`] for a grant at hand, with the `grant_revoked` event saying why.
pub(crate) async fn revoke(
    state: &State,
    services: &Services<'_>,
    grant: &GrantRecord,
    reason: &str,
) -> Result<(), StoreError> {
    revoke_id(state, services, &grant.grant_id, &grant.sub).await?;
    crate::logs::event(
        "grant_revoked",
        serde_json::json!({ "client": grant.client_id, "sub": crate::logs::subject_tag(&grant.sub), "reason": reason }),
    );
    Ok(())
}

/// What the configuration says now about the person behind a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// They may still have these scopes of the grant's (the grant's, narrowed; never more).
    Scopes(String),
    /// They may not use the server any more: the grant is revoked.
    Removed(&'static str),
    /// A grant from an upstream sign-in made before the identity was kept: nothing to check
    /// it against. It lives until it expires or reaches `MAX_GRANT_AGE`.
    Unchecked,
}

/// The grant's scopes that the person behind it may still have.
pub(crate) fn check(state: &State, grant: &GrantRecord) -> Admission {
    let allowed: Vec<String> = match &grant.upstream {
        Some(kept) => match upstream::admitted_now(state, kept) {
            Some(scopes) => scopes,
            None => return Admission::Removed("no access rule admits this account any more"),
        },
        None => match state.config.users.iter().find(|u| u.sub == grant.sub) {
            Some(user) => user.scopes.clone(),
            None if is_upstream_subject(&grant.sub) => return Admission::Unchecked,
            None => return Admission::Removed("this account was removed"),
        },
    };
    let kept: Vec<&str> =
        grant.scope.split(' ').filter(|s| allowed.iter().any(|a| a == s)).collect();
    if !kept.contains(&SCOPE_MCP) {
        return Admission::Removed("this account may no longer use this server");
    }
    Admission::Scopes(kept.join(" "))
}

/// Subjects of people who signed in upstream (`oidc:<issuer>#<sub>`, `github:<id>`).
fn is_upstream_subject(sub: &str) -> bool {
    sub.starts_with("oidc:") || sub.starts_with("github:")
}
