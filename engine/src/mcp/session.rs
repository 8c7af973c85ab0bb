//! MCP session ids that survive across isolates without shared memory.
//!
//! A session id is sealed (HMAC) data: version, issue time, negotiated protocol version and a
//! tag of the subject it was issued to. Any isolate can check it with the app secret alone.
//! Termination (DELETE) writes a tombstone to KV that every later request checks; see
//! `docs/sessions.md` for the consistency this gives.

use super::envelope::ClientCapabilities;
use crate::crypto::{b64, seal, sha256_b64, unseal};
use crate::env::{random_token, Random};

const PURPOSE: &str = "mcp-session";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub issued_at: u64,
    pub protocol_version: String,
    /// What the client declared at `initialize` it can be asked (elicitation, sampling,
    /// roots): the bridge asks for nothing else. Ids of format 1 declared nothing.
    pub capabilities: ClientCapabilities,
    subject_tag: String,
}

/// `e`, `s`, `r` for the declared elicitation, sampling and roots capabilities.
fn capability_letters(c: &ClientCapabilities) -> String {
    [(c.elicitation, 'e'), (c.sampling, 's'), (c.roots, 'r')]
        .iter()
        .filter_map(|(on, letter)| on.then_some(*letter))
        .collect()
}

fn subject_tag(sub: Option<&str>) -> String {
    b64(&sha256_b64(sub.unwrap_or("-")).as_bytes()[..9])
}

/// Issues a session id (visible ASCII only, as the transport requires).
pub fn issue(
    secret: &[u8],
    random: &dyn Random,
    now: u64,
    version: &str,
    sub: Option<&str>,
    capabilities: &ClientCapabilities,
) -> String {
    let data = format!(
        "2~{now}~{version}~{}~{}~{}",
        subject_tag(sub),
        capability_letters(capabilities),
        random_token(random, 12)
    );
    seal(secret, PURPOSE, &data)
}

/// Why a session id was refused. Both map to 404 so clients start a new session.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    Unknown,
    Expired,
}

/// Verifies a session id for `sub`; ids issued to someone else are unknown here.
pub fn verify(
    secret: &[u8],
    id: &str,
    now: u64,
    ttl: u64,
    sub: Option<&str>,
) -> Result<Session, SessionError> {
    if id.len() > 256 {
        return Err(SessionError::Unknown);
    }
    let data = unseal(secret, PURPOSE, id).ok_or(SessionError::Unknown)?;
    let parts: Vec<&str> = data.split('~').collect();
    let (issued, version, tag, letters) = match parts[..] {
        ["1", issued, version, tag, _] => (issued, version, tag, ""),
        ["2", issued, version, tag, letters, _] => (issued, version, tag, letters),
        _ => return Err(SessionError::Unknown),
    };
    let issued_at: u64 = issued.parse().map_err(|_| SessionError::Unknown)?;
    if tag != subject_tag(sub) {
        return Err(SessionError::Unknown);
    }
    if now > issued_at.saturating_add(ttl) {
        return Err(SessionError::Expired);
    }
    let capabilities = ClientCapabilities {
        elicitation: letters.contains('e'),
        sampling: letters.contains('s'),
        roots: letters.contains('r'),
        tasks: false,
    };
    Ok(Session {
        issued_at,
        protocol_version: version.to_owned(),
        capabilities,
        subject_tag: tag.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::SeqRandom;

    #[test]
    fn ids_verify_for_their_subject_until_they_expire() {
        let r = SeqRandom::new(1);
        let caps =
            ClientCapabilities { elicitation: true, sampling: false, roots: true, tasks: false };
        let id = issue(b"secret", &r, 1000, "2025-11-25", Some("alice"), &caps);
        assert!(id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        let s = verify(b"secret", &id, 1010, 3600, Some("alice")).unwrap();
        assert_eq!(s.protocol_version, "2025-11-25");
        assert_eq!(s.capabilities, caps);
        assert_eq!(verify(b"secret", &id, 1010, 3600, Some("bob")), Err(SessionError::Unknown));
        assert_eq!(verify(b"other", &id, 1010, 3600, Some("alice")), Err(SessionError::Unknown));
        assert_eq!(verify(b"secret", &id, 5000, 3600, Some("alice")), Err(SessionError::Expired));
        assert_eq!(verify(b"secret", "nonsense", 1010, 3600, None), Err(SessionError::Unknown));
    }
}
