//! `get_vibe`: greets the signed-in user by name, so a client can see whose token it holds.
//! Without a location it asks for one by elicitation when the client can answer (2026-07-28
//! multi-round trip, or a server-to-client request on a session), and otherwise answers for
//! "where you are" without asking.

use mcp_edge::mcp::tools::{Annotations, Elicited, ToolContext, ToolError, TypedTool};
use schemars::JsonSchema;
use serde::Deserialize;

/// The `get_vibe` tool.
pub struct GetVibe;

/// `get_vibe`'s arguments.
#[derive(Deserialize, JsonSchema)]
pub struct Args {
    /// A place, e.g. Berlin
    #[serde(default)]
    #[schemars(with = "String")]
    pub location: Option<String>,
}

/// The form that asks for a place.
#[derive(Deserialize, JsonSchema)]
pub struct Place {
    /// A city or place
    #[schemars(title = "Location")]
    pub location: String,
}

impl TypedTool for GetVibe {
    const NAME: &'static str = "get_vibe";
    const TITLE: Option<&'static str> = Some("Get vibe");
    const DESCRIPTION: &'static str = "Tells the signed-in user the vibe of a location (asks for one if none is given and the client can answer).";
    const ANNOTATIONS: Annotations = Annotations::READ_ONLY;
    type Args = Args;
    type Output = String;

    async fn call(args: Args, ctx: &ToolContext<'_>) -> Result<String, ToolError> {
        let Some(who) = ctx.identity else {
            return Err("No user is signed in: get_vibe needs an authenticated session.".into());
        };
        let name = who.name.as_deref().unwrap_or(&who.sub);
        let location = match args.location {
            Some(l) if l.trim().is_empty() => {
                return Err("Argument `location` must be a non-empty string.".into())
            }
            Some(l) => Some(l.trim().to_owned()),
            None => {
                match ctx.elicit::<Place>("location", "Which place should I check the vibe of?")? {
                    Elicited::Accepted(p) => {
                        Some(p.location.trim().to_owned()).filter(|l| !l.is_empty())
                    }
                    // Declined, dismissed, or nobody to ask: answer without a place.
                    Elicited::Declined | Elicited::Cancelled | Elicited::CannotAsk => None,
                }
            }
        };
        Ok(match location {
            Some(l) => format!("Curious vibes for {name} in {l}."),
            None => format!("Curious vibes for {name}, wherever you are."),
        })
    }
}
