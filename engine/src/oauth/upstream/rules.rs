//! `ACCESS_RULES`: who of the upstream providers' users gets in, and with which scopes. The
//! first rule whose every condition holds decides; email and domain conditions only ever match
//! an address the provider marks verified.

use super::{Identity, Provider};
use crate::config::AccessRule;

/// Does every condition `rule` names hold for `who`?
fn matches(rule: &AccessRule, who: &Identity) -> bool {
    let verified_email = who.email.as_deref().filter(|_| who.email_verified);
    let provider_ok = rule.provider.as_deref().is_none_or(|p| p == who.provider.as_str());
    let subject_ok = rule.subject.as_deref().is_none_or(|s| s == who.subject);
    let github_ok = rule.github.as_deref().is_none_or(|login| {
        who.provider == Provider::Github
            && who.login.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(login))
    });
    let email_ok = rule
        .email
        .as_deref()
        .is_none_or(|want| verified_email.is_some_and(|e| e.eq_ignore_ascii_case(want)));
    let domain_ok = rule.domain.as_deref().is_none_or(|want| {
        verified_email
            .and_then(|e| e.rsplit_once('@'))
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(want))
    });
    let group_ok = rule
        .group
        .as_deref()
        .is_none_or(|g| who.provider == Provider::Oidc && who.groups.iter().any(|h| h == g));
    let org_ok = rule.github_org.as_deref().is_none_or(|o| {
        who.provider == Provider::Github && who.groups.iter().any(|h| h.eq_ignore_ascii_case(o))
    });
    provider_ok && subject_ok && github_ok && email_ok && domain_ok && group_ok && org_ok
}

/// Does a rule name a GitHub organization (so GitHub must be asked for memberships)?
pub(crate) fn names_github_orgs(rules: &[AccessRule]) -> bool {
    rules.iter().any(|r| r.github_org.is_some())
}

/// `who` with only the groups (GitHub: organizations) that some rule names.
pub(crate) fn keep_named_groups(rules: &[AccessRule], mut who: Identity) -> Identity {
    let provider = who.provider;
    who.groups.retain(|g| {
        rules.iter().any(|r| match provider {
            Provider::Oidc => r.group.as_deref() == Some(g.as_str()),
            Provider::Github => r.github_org.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(g)),
        })
    });
    who
}

/// The scopes the first matching rule grants, or why nobody let them in (for the page).
pub(crate) fn admit(rules: &[AccessRule], who: &Identity) -> Result<Vec<String>, String> {
    if let Some(rule) = rules.iter().find(|r| matches(r, who)) {
        return Ok(rule.scope_list());
    }
    let by_email = rules.iter().any(|r| r.email.is_some() || r.domain.is_some());
    let shown =
        who.email.clone().or_else(|| who.login.clone()).unwrap_or_else(|| who.subject.clone());
    Err(match &who.email {
        Some(email) if !who.email_verified && by_email => format!(
            "Your email address {email} is not verified by your identity provider, and this server admits people by verified email only. Verify it there, then try again."
        ),
        None if by_email => format!(
            "Your identity provider did not share a verified email address for {shown}, and this server admits people by verified email."
        ),
        _ => format!("{shown} is not allowed to use this server: no access rule admits this account. Ask the server's administrator to add one."),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<AccessRule> {
        serde_json::from_str(
            r#"[{"email":"Alice@Example.com","scopes":"mcp admin"},
                {"domain":"example.com","scopes":"mcp"},
                {"github":"octocat","scopes":"mcp"},
                {"provider":"github","subject":"github:7","scopes":"mcp admin"}]"#,
        )
        .unwrap_or_default()
    }

    fn person(email: &str, verified: bool) -> Identity {
        Identity {
            provider: Provider::Oidc,
            subject: "oidc:https://idp.example#1".into(),
            email: Some(email.into()),
            email_verified: verified,
            name: None,
            login: None,
            groups: Vec::new(),
        }
    }

    #[test]
    fn first_match_wins_and_only_verified_emails_count() {
        let r = rules();
        assert_eq!(
            admit(&r, &person("alice@example.com", true)),
            Ok(vec!["mcp".into(), "admin".into()])
        );
        assert_eq!(admit(&r, &person("bob@example.com", true)), Ok(vec!["mcp".into()]));
        let unverified = admit(&r, &person("alice@example.com", false)).unwrap_err();
        assert!(unverified.contains("not verified"), "{unverified}");
        assert!(admit(&r, &person("eve@evil.example", true))
            .unwrap_err()
            .contains("no access rule"));
        // A domain is the whole domain after @, not a suffix.
        assert!(admit(&r, &person("eve@notexample.com", true)).is_err());
        assert!(admit(&r, &person("eve@example.com.evil", true)).is_err());
    }

    #[test]
    fn github_rules_match_github_people_only() {
        let r = rules();
        let mut octo = person("o@elsewhere.example", true);
        octo.login = Some("OctoCat".into());
        assert!(admit(&r, &octo).is_err(), "an OIDC user named octocat is not the GitHub one");
        octo.provider = Provider::Github;
        octo.subject = "github:1".into();
        assert_eq!(admit(&r, &octo), Ok(vec!["mcp".into()]));
        let mut seven = person("x@y.example", false);
        seven.provider = Provider::Github;
        seven.subject = "github:7".into();
        assert_eq!(admit(&r, &seven), Ok(vec!["mcp".into(), "admin".into()]));
    }

    #[test]
    fn group_rules_match_a_listed_group_exactly_and_only_named_groups_are_kept() {
        let r: Vec<AccessRule> = serde_json::from_str(
            r#"[{"group":"mcp-admins","scopes":"mcp admin"},{"provider":"oidc","group":"staff","scopes":"mcp"}]"#,
        )
        .unwrap_or_default();
        let mut who = person("x@elsewhere.example", false);
        who.groups = vec!["sales".into(), "staff".into(), "mcp-admins".into()];
        let who = keep_named_groups(&r, who);
        assert_eq!(
            who.groups,
            vec!["staff".to_owned(), "mcp-admins".into()],
            "sales is named by no rule"
        );
        assert_eq!(admit(&r, &who), Ok(vec!["mcp".into(), "admin".into()]));
        let mut staff = who.clone();
        staff.groups = vec!["staff".into()];
        assert_eq!(admit(&r, &staff), Ok(vec!["mcp".into()]));
        staff.provider = Provider::Github;
        assert!(admit(&r, &staff).is_err(), "the staff rule is for the OpenID provider's people");
        let mut near = who.clone();
        near.groups = vec!["MCP-Admins".into(), "mcp-admins-2".into()];
        assert!(admit(&r, &near).is_err(), "groups compare exactly");
    }

    #[test]
    fn github_org_rules_match_github_people_in_that_organization_only() {
        let r: Vec<AccessRule> =
            serde_json::from_str(r#"[{"github_org":"Acme-Corp","scopes":"mcp admin"},{"group":"acme-corp","scopes":"mcp"}]"#)
                .unwrap_or_default();
        assert!(names_github_orgs(&r));
        let mut gh = person("o@github.com", true);
        gh.provider = Provider::Github;
        gh.groups = vec!["acme-corp".into(), "other".into()];
        let gh = keep_named_groups(&r, gh);
        assert_eq!(gh.groups, vec!["acme-corp".to_owned()]);
        assert_eq!(admit(&r, &gh), Ok(vec!["mcp".into(), "admin".into()]));
        // An OpenID group of the same name is not the GitHub organization, and the reverse.
        let mut oidc = person("o@elsewhere.example", true);
        oidc.groups = vec!["acme-corp".into()];
        assert_eq!(admit(&r, &keep_named_groups(&r, oidc)), Ok(vec!["mcp".into()]));
        let only_org: Vec<AccessRule> = r[..1].to_vec();
        let mut oidc = person("o@elsewhere.example", true);
        oidc.groups = vec!["acme-corp".into()];
        assert!(admit(&only_org, &oidc).is_err());
        assert!(!names_github_orgs(&r[1..]));
    }
}
