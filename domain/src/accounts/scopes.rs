//! What a personal API token may do: grants of «resource:read» and
//! «resource:write» chosen when it is issued (write includes read; read is
//! viewing and exporting). A token without grants — issued before scopes
//! existed, or from the command line — may do whatever its user may. The
//! check sits in `rbac::authorize`, so every path obeys it; the user's own
//! rights still apply on top.

use uuid::Uuid;

use crate::types::{Action, Resource};

/// The token an API request came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: Uuid,
    /// `None`: everything the user may do.
    pub scopes: Option<Vec<TokenScope>>,
}

impl TokenGrant {
    /// Whether the token reaches the matrix cell `resource` × `action`.
    pub fn permits(&self, resource: Resource, action: Action) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|g| g.covers(resource, action)))
    }
}

/// One grant: a resource of the matrix, to read or to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenScope {
    pub resource: Resource,
    pub write: bool,
}

impl TokenScope {
    /// "leads:read", "telegram:write"…
    pub fn parse(s: &str) -> Option<Self> {
        let (resource, kind) = s.trim().split_once(':')?;
        let write = match kind {
            "read" => false,
            "write" => true,
            _ => return None,
        };
        Some(Self {
            resource: resource.parse().ok()?,
            write,
        })
    }

    pub fn key(self) -> String {
        format!("{}:{}", self.resource, if self.write { "write" } else { "read" })
    }

    /// Every grant there is, resource by resource, read before write.
    pub fn all() -> Vec<Self> {
        Resource::all()
            .into_iter()
            .flat_map(|resource| [false, true].map(|write| Self { resource, write }))
            .collect()
    }

    fn covers(self, resource: Resource, action: Action) -> bool {
        self.resource == resource && (self.write || matches!(action, Action::View | Action::Export))
    }
}

/// Reads the grants asked for at issue; an unknown one is named.
pub fn parse_scopes(keys: &[String]) -> Result<Vec<TokenScope>, String> {
    let mut out: Vec<TokenScope> = vec![];
    for k in keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        let s = TokenScope::parse(k).ok_or_else(|| format!("Неизвестное право токена «{k}»"))?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        return Err("Выберите хотя бы одно право токена".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read_and_nothing_else_leaks() {
        let g = TokenGrant {
            id: Uuid::nil(),
            scopes: Some(parse_scopes(&["leads:read".into(), "telegram:write".into()]).unwrap()),
        };
        assert!(g.permits(Resource::Leads, Action::View));
        assert!(g.permits(Resource::Leads, Action::Export));
        assert!(!g.permits(Resource::Leads, Action::Create));
        assert!(!g.permits(Resource::Clients, Action::View));
        assert!(g.permits(Resource::Telegram, Action::Delete));
        assert!(g.permits(Resource::Telegram, Action::View));
        let full = TokenGrant {
            id: Uuid::nil(),
            scopes: None,
        };
        assert!(full.permits(Resource::Settings, Action::Edit));
    }

    #[test]
    fn grants_read_back_and_bad_ones_are_named() {
        for s in TokenScope::all() {
            assert_eq!(TokenScope::parse(&s.key()), Some(s));
        }
        assert_eq!(TokenScope::all().len(), Resource::all().len() * 2);
        assert!(parse_scopes(&["leads:admin".into()])
            .unwrap_err()
            .contains("leads:admin"));
        assert!(parse_scopes(&[]).is_err());
    }
}
