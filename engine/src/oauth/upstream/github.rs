//! GitHub as the identity provider (an OAuth app, not OpenID Connect): the authorization URL with
//! PKCE, the code exchange, then `GET /user` (the numeric id is the stable key; the login can
//! change), `GET /user/emails` (the verified primary address) and, when an access rule names a
//! GitHub organization, `GET /user/memberships/orgs` (active memberships). The access token is
//! used for these calls only and never stored.

use super::{json_answer, Identity, PendingRecord, Provider, UpstreamError, LIMITS};
use crate::config::UpstreamGithub;
use crate::env::Services;
use crate::web::percent_encode;
use serde::Deserialize;

pub(crate) const AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub(crate) const TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
pub(crate) const USER_URL: &str = "https://api.github.com/user";
pub(crate) const EMAILS_URL: &str = "https://api.github.com/user/emails";
/// Active organization memberships, 100 a page (`&page=N` is added).
pub(crate) const MEMBERSHIPS_URL: &str =
    "https://api.github.com/user/memberships/orgs?state=active&per_page=100";
/// Pages of memberships read at most (1,000 organizations): each is a subrequest, and a
/// sign-in must stay within the Workers plan's subrequest limit.
const MAX_MEMBERSHIP_PAGES: u32 = 10;
/// Enough to read the profile and the email addresses, nothing else.
const SCOPES: &str = "read:user user:email";
/// ... and organization memberships, only when a rule names an organization.
const SCOPES_WITH_ORGS: &str = "read:user user:email read:org";

pub(crate) fn authorization_url(
    gh: &UpstreamGithub,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
    orgs: bool,
) -> String {
    format!(
        "{AUTHORIZE_URL}?client_id={}&redirect_uri={}&scope={}&state={state}&code_challenge={challenge}&code_challenge_method=S256&allow_signup=false",
        percent_encode(&gh.client_id),
        percent_encode(redirect_uri),
        percent_encode(if orgs { SCOPES_WITH_ORGS } else { SCOPES }),
    )
}

/// GitHub answers the token request with 200 and either a token or an error.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    login: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Membership {
    state: String,
    organization: Organization,
}

#[derive(Deserialize)]
struct Organization {
    login: String,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

pub(crate) async fn exchange(
    services: &Services<'_>,
    gh: &UpstreamGithub,
    code: &str,
    redirect_uri: &str,
    pending: &PendingRecord,
    orgs: bool,
) -> Result<Identity, UpstreamError> {
    let form = format!(
        "client_id={}&client_secret={}&code={}&redirect_uri={}&code_verifier={}",
        percent_encode(&gh.client_id),
        percent_encode(&gh.client_secret),
        percent_encode(code),
        percent_encode(redirect_uri),
        percent_encode(&pending.verifier)
    );
    let req = http::Request::post(TOKEN_URL)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("user-agent", "mcp-edge")
        .body(form.into_bytes())
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    let res = fetch(services, req).await?;
    let answer: TokenAnswer = json_answer("token endpoint", &res)?;
    let token = match (answer.access_token, answer.error) {
        (Some(t), None) if !t.is_empty() => t,
        (_, Some(e)) => {
            let d = answer.error_description.unwrap_or_default();
            return Err(UpstreamError::Refused(format!("its token endpoint said {e} ({d}).")));
        }
        _ => return Err(UpstreamError::Invalid("its token endpoint sent no token".into())),
    };
    let user: GithubUser =
        json_answer("user API", &fetch(services, api(USER_URL, &token)?).await?)?;
    let emails: Vec<GithubEmail> =
        json_answer("emails API", &fetch(services, api(EMAILS_URL, &token)?).await?)?;
    let primary = emails.into_iter().find(|e| e.primary && e.verified);
    let mut groups = Vec::new();
    // Page after page until a short one: a member of more than 100 organizations is still
    // found in the one a rule names (issue 23 item 7).
    for page in 1..=MAX_MEMBERSHIP_PAGES {
        if !orgs {
            break;
        }
        let url = format!("{MEMBERSHIPS_URL}&page={page}");
        let memberships: Vec<Membership> = json_answer(
            "organization memberships API",
            &fetch(services, api(&url, &token)?).await?,
        )?;
        let full = memberships.len() >= 100;
        groups.extend(
            memberships
                .into_iter()
                .filter(|m| m.state == "active")
                .map(|m| m.organization.login.to_ascii_lowercase()),
        );
        if !full {
            break;
        }
    }
    Ok(Identity {
        provider: Provider::Github,
        subject: format!("github:{}", user.id),
        email_verified: primary.is_some(),
        email: primary.map(|e| e.email),
        name: user.name.filter(|n| !n.trim().is_empty()),
        login: Some(user.login),
        groups,
    })
}

fn api(url: &str, token: &str) -> Result<http::Request<Vec<u8>>, UpstreamError> {
    http::Request::get(url)
        .header("accept", "application/vnd.github+json")
        .header("authorization", format!("Bearer {token}"))
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "mcp-edge")
        .body(Vec::new())
        .map_err(|e| UpstreamError::Invalid(e.to_string()))
}

async fn fetch(
    services: &Services<'_>,
    req: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, UpstreamError> {
    services.fetch.fetch(req, LIMITS).await.map_err(|e| UpstreamError::from_fetch("GitHub", e))
}
