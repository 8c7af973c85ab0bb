//! The pages an upstream sign-in ends on when it does not reach our consent page, and the
//! redirect back to `/account`.

use crate::oauth::authorize::request::AuthzRequest;
use crate::oauth::pages;
use crate::oauth::session::{set_cookie, SIGNIN_LIFETIME};
use crate::urls::Urls;
use crate::web::{self, html_escape as e, percent_encode, Request, Response};
use http::{HeaderValue, StatusCode};

/// A page saying why, with a link that tells the app (`access_denied`, RFC 6749 §4.1.2.1) when
/// an app asked.
pub(super) fn refusal(
    urls: &Urls,
    request: Option<&AuthzRequest>,
    status: StatusCode,
    title: &str,
    why: &str,
) -> Response {
    let link = match request {
        Some(request) => {
            let mut target = format!(
                "{}{}error=access_denied&error_description={}",
                request.redirect_uri,
                if request.redirect_uri.contains('?') { '&' } else { '?' },
                percent_encode(why)
            );
            if let Some(s) = &request.state {
                target.push_str(&format!("&state={}", percent_encode(s)));
            }
            target.push_str(&format!("&iss={}", percent_encode(&urls.issuer)));
            format!("<p><a id=\"continue\" href=\"{}\">Return to the app</a> (it will be told that access was denied).</p>", e(&target))
        }
        None => String::new(),
    };
    let body =
        format!("<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>{link}", e(title), e(why),);
    pages::layout(status, title, &body, "", "")
}

/// After a sign-in to `/account`: there, signed in.
pub(crate) fn to_account(req: &Request, session: &str) -> Response {
    let mut res = web::empty(StatusCode::SEE_OTHER);
    res.headers_mut().insert(http::header::LOCATION, HeaderValue::from_static("/account"));
    res.headers_mut().insert(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_cookie(&mut res, req, "mcp_edge_session", session, SIGNIN_LIFETIME);
    res
}
