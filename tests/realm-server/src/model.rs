//! Realm model: the subset of Keycloak's realm-import JSON we understand, and the
//! runtime view built from it (built-in clients and roles added the way Keycloak
//! adds them to every new realm).

use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

// ---------------------------------------------------------------- import format

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct RealmRep {
    pub id: Option<String>,
    pub realm: Option<String>,
    pub display_name: Option<String>,
    pub enabled: Option<bool>,
    pub access_token_lifespan: Option<i64>,
    pub access_token_lifespan_for_implicit_flow: Option<i64>,
    pub sso_session_idle_timeout: Option<i64>,
    pub sso_session_max_lifespan: Option<i64>,
    pub revoke_refresh_token: Option<bool>,
    pub refresh_token_max_reuse: Option<i64>,
    pub access_code_lifespan: Option<i64>,
    pub registration_allowed: Option<bool>,
    pub registration_email_as_username: Option<bool>,
    pub login_with_email_allowed: Option<bool>,
    pub not_before: Option<i64>,
    // Kept loosely typed: the admin API validates these itself.
    pub internationalization_enabled: Option<Value>,
    pub supported_locales: Option<Value>,
    pub default_locale: Option<Value>,
    pub attributes: Option<Value>,
    pub roles: Option<RolesRep>,
    pub clients: Option<Vec<ClientRep>>,
    pub users: Option<Vec<UserRep>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RolesRep {
    pub realm: Vec<RoleRep>,
    pub client: HashMap<String, Vec<RoleRep>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RoleRep {
    pub name: String,
    pub description: Option<String>,
    pub composites: Option<CompositesRep>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CompositesRep {
    pub realm: Vec<String>,
    pub client: HashMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientRep {
    pub id: Option<String>,
    pub client_id: String,
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub public_client: Option<bool>,
    pub bearer_only: Option<bool>,
    pub secret: Option<String>,
    pub standard_flow_enabled: Option<bool>,
    pub implicit_flow_enabled: Option<bool>,
    pub direct_access_grants_enabled: Option<bool>,
    pub service_accounts_enabled: Option<bool>,
    pub consent_required: Option<bool>,
    pub redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub root_url: Option<String>,
    pub attributes: HashMap<String, Value>,
    /// Authorization Services (see authz.rs): imported after the users.
    pub authorization_services_enabled: Option<bool>,
    pub authorization_settings: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub struct UserRep {
    pub id: Option<String>,
    pub username: String,
    pub enabled: Option<bool>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_verified: Option<bool>,
    pub credentials: Vec<CredentialRep>,
    pub realm_roles: Vec<String>,
    pub client_roles: HashMap<String, Vec<String>>,
    /// Makes the user the service account of this client (`clientId`), as in an export.
    pub service_account_client_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CredentialRep {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: Option<String>,
    pub temporary: Option<bool>,
}

// ---------------------------------------------------------------- runtime model

/// A role: `(None, name)` for a realm role, `(Some(clientId), name)` for a client role.
pub type RoleId = (Option<String>, String);

pub struct Realm {
    pub name: String,
    /// Internal id (`RealmRepresentation.id`).
    pub id: String,
    /// `default-roles-<name at creation>` (kept on rename, as Keycloak does).
    pub default_role: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    pub access_token_lifespan: i64,
    pub access_token_lifespan_implicit: i64,
    pub sso_idle: i64,
    pub sso_max: i64,
    /// Refresh-token rotation (`revokeRefreshToken`, `refreshTokenMaxReuse`): see
    /// oidc.rs `check_reuse`.
    pub revoke_refresh_token: bool,
    pub refresh_token_max_reuse: i64,
    pub access_code_lifespan: i64,
    pub registration_allowed: bool,
    pub registration_email_as_username: bool,
    pub login_with_email_allowed: bool,
    pub not_before: i64,
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    pub realm_roles: BTreeSet<String>,
    pub client_roles: BTreeMap<String, BTreeSet<String>>,
    pub composites: HashMap<RoleId, Vec<RoleId>>,
    /// HS512 key for refresh tokens and the identity cookie.
    pub hmac_key: Vec<u8>,
    pub hmac_kid: String,
    /// RS256 signing keys (key provider components); the highest priority, then the
    /// newest, signs. Empty = the server-wide key only.
    pub rsa_keys: Vec<RealmKey>,
    /// Component id of the HS512 key provider.
    pub hmac_component_id: String,
    /// Realm attributes (`RealmRepresentation.attributes`).
    pub attributes: BTreeMap<String, String>,
    /// Other scalar RealmRepresentation fields set through the admin API (echoed by GET).
    pub extra: serde_json::Map<String, Value>,
    /// Role descriptions (roles created through the admin API or the import).
    pub role_descriptions: HashMap<RoleId, String>,
    /// Resource servers (Authorization Services), by the client's internal id.
    pub authz: HashMap<String, crate::authz::ResourceServer>,
}

/// One `rsa-generated` key provider component of a realm.
pub struct RealmKey {
    pub component_id: String,
    pub name: String,
    pub priority: i64,
    /// Creation order (ties in priority go to the newest key).
    pub seq: u64,
    pub key: std::sync::Arc<crate::jwt::RsaKeys>,
    /// Extra component config echoed back (keySize, algorithm, ...).
    pub config: serde_json::Map<String, Value>,
}

#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub client_id: String,
    pub enabled: bool,
    pub public_client: bool,
    pub bearer_only: bool,
    pub secret: Option<String>,
    pub standard_flow: bool,
    pub implicit_flow: bool,
    pub direct_access: bool,
    pub service_accounts: bool,
    pub redirect_uris: Vec<String>,
    pub web_origins: Vec<String>,
    pub root_url: Option<String>,
    pub attributes: HashMap<String, String>,
    /// Other scalar ClientRepresentation fields (name, description, baseUrl, ...).
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub enabled: bool,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_verified: bool,
    pub password: Option<String>,
    pub realm_roles: Vec<String>,
    pub client_roles: HashMap<String, Vec<String>>,
    /// For a client's service account: that client's internal id (Keycloak's
    /// `serviceAccountClientLink`, so a renamed client keeps its account).
    pub service_account: Option<String>,
    /// Creation time, ms since the epoch.
    pub created: i64,
    /// When the password was last set, ms since the epoch.
    pub password_created: i64,
}

impl User {
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) if !f.is_empty() && !l.is_empty() => Some(format!("{f} {l}")),
            (Some(f), _) if !f.is_empty() => Some(f.clone()),
            (_, Some(l)) if !l.is_empty() => Some(l.clone()),
            _ => None,
        }
    }
}

/// The client every non-master realm keeps its admin roles in.
pub const REALM_MANAGEMENT: &str = "realm-management";

/// The roles of `realm-management` (Keycloak 26.2's `AdminRoles`, less the organization
/// roles of later releases). `realm-admin` is the composite of all the others.
pub const ADMIN_ROLES: &[&str] = &[
    "realm-admin", "create-client", "view-realm", "view-users", "view-clients", "view-events",
    "view-identity-providers", "view-authorization", "manage-realm", "manage-users", "manage-clients",
    "manage-events", "manage-identity-providers", "manage-authorization", "query-users", "query-clients",
    "query-realms", "query-groups", "impersonation",
];

impl User {
    /// The user Keycloak creates for a client's service account: `service-account-<clientId>`
    /// (lower-cased, as every username), enabled, no credentials, default roles only.
    pub fn service_account_for(client: &Client) -> User {
        let now = crate::util::now_ms();
        User {
            id: new_uuid(),
            username: format!("service-account-{}", client.client_id.to_lowercase()),
            enabled: true,
            email: None,
            first_name: None,
            last_name: None,
            email_verified: false,
            password: None,
            realm_roles: vec![],
            client_roles: Default::default(),
            service_account: Some(client.id.clone()),
            created: now,
            password_created: now,
        }
    }
}

pub fn attr_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn builtin_client(client_id: &str, public: bool, standard: bool, direct: bool, redirect: Vec<String>) -> Client {
    Client {
        id: new_uuid(),
        client_id: client_id.to_string(),
        enabled: true,
        public_client: public,
        bearer_only: false,
        secret: if public { None } else { Some(new_uuid()) },
        standard_flow: standard,
        implicit_flow: false,
        direct_access: direct,
        service_accounts: false,
        redirect_uris: redirect,
        web_origins: vec![],
        root_url: None,
        attributes: HashMap::new(),
        extra: Default::default(),
    }
}

impl Realm {
    /// Build the runtime realm from an import. Returns warnings (printed by the caller).
    pub fn from_rep(rep: RealmRep) -> Result<(Realm, Vec<String>), String> {
        let mut warnings = Vec::new();
        let name = rep.realm.filter(|n| !n.is_empty()).ok_or("the \"realm\" field is missing or empty")?;
        if name.contains('/') {
            return Err(format!("invalid realm name {name:?}"));
        }
        if rep.enabled.is_none() {
            warnings.push(format!("realm {name}: \"enabled\" is not set; Keycloak imports such a realm as disabled"));
        }
        let mut realm = Realm {
            display_name: rep.display_name,
            enabled: rep.enabled.unwrap_or(false),
            access_token_lifespan: rep.access_token_lifespan.unwrap_or(300),
            access_token_lifespan_implicit: rep.access_token_lifespan_for_implicit_flow.unwrap_or(900),
            sso_idle: rep.sso_session_idle_timeout.unwrap_or(1800),
            sso_max: rep.sso_session_max_lifespan.unwrap_or(36000),
            revoke_refresh_token: rep.revoke_refresh_token.unwrap_or(false),
            refresh_token_max_reuse: rep.refresh_token_max_reuse.unwrap_or(0),
            access_code_lifespan: rep.access_code_lifespan.unwrap_or(60),
            registration_allowed: rep.registration_allowed.unwrap_or(false),
            registration_email_as_username: rep.registration_email_as_username.unwrap_or(false),
            login_with_email_allowed: rep.login_with_email_allowed.unwrap_or(true),
            not_before: rep.not_before.unwrap_or(0),
            clients: Vec::new(),
            users: Vec::new(),
            realm_roles: BTreeSet::new(),
            client_roles: BTreeMap::new(),
            composites: HashMap::new(),
            hmac_key: {
                use rand::RngCore;
                let mut k = vec![0u8; 64];
                rand::rngs::OsRng.fill_bytes(&mut k);
                k
            },
            hmac_kid: new_uuid(),
            id: rep.id.filter(|i| !i.is_empty()).unwrap_or_else(new_uuid),
            default_role: format!("default-roles-{}", name.to_lowercase()),
            rsa_keys: Vec::new(),
            hmac_component_id: new_uuid(),
            attributes: BTreeMap::new(),
            extra: Default::default(),
            role_descriptions: HashMap::new(),
            authz: HashMap::new(),
            name: name.clone(),
        };

        // Attributes (e.g. `acr.loa.map`) and the login locale settings.
        if let Some(Value::Object(a)) = &rep.attributes {
            realm.attributes = a.iter().map(|(k, v)| (k.clone(), attr_string(v))).filter(|(_, v)| !v.is_empty()).collect();
        }
        for (key, v) in [
            ("internationalizationEnabled", rep.internationalization_enabled),
            ("supportedLocales", rep.supported_locales),
            ("defaultLocale", rep.default_locale),
        ] {
            if let Some(v) = v.filter(|v| !v.is_null()) {
                realm.extra.insert(key.into(), v);
            }
        }

        // Clients from the import.
        let mut authz_settings = Vec::new();
        for mut c in rep.clients.unwrap_or_default() {
            if c.client_id.is_empty() {
                return Err(format!("realm {name}: a client has no clientId"));
            }
            if realm.clients.iter().any(|x| x.client_id == c.client_id) {
                return Err(format!("realm {name}: duplicate client {}", c.client_id));
            }
            if c.authorization_services_enabled == Some(true) {
                authz_settings.push((c.client_id.clone(), c.authorization_settings.take()));
            }
            realm.clients.push(Client::from_rep(c));
        }
        // Built-in clients every Keycloak realm has (unless the import defines them).
        let account_base = format!("/realms/{name}/account/*");
        let builtins = [
            builtin_client("account", true, true, false, vec![account_base.clone()]),
            builtin_client("account-console", true, true, false, vec![account_base]),
            builtin_client("admin-cli", true, false, true, vec![]),
            builtin_client("broker", false, true, false, vec![]),
            builtin_client("realm-management", false, true, false, vec![]),
            builtin_client("security-admin-console", true, true, false, vec![format!("/admin/{name}/console/*")]),
        ];
        for b in builtins {
            if !realm.clients.iter().any(|x| x.client_id == b.client_id) {
                realm.clients.push(b);
            }
        }

        // Roles.
        let account = Some("account".to_string());
        for r in ["offline_access", "uma_authorization"] {
            realm.realm_roles.insert(r.into());
        }
        for r in [
            "manage-account", "view-profile", "manage-account-links", "view-applications",
            "view-consent", "manage-consent", "delete-account", "view-groups",
        ] {
            realm.client_roles.entry("account".into()).or_default().insert(r.into());
        }
        realm.composites.insert(
            (account.clone(), "manage-account".into()),
            vec![(account.clone(), "manage-account-links".into())],
        );
        realm.composites.insert(
            (account.clone(), "manage-consent".into()),
            vec![(account.clone(), "view-consent".into())],
        );
        let default_role = realm.default_role.clone();
        realm.realm_roles.insert(default_role.clone());
        realm.composites.insert(
            (None, default_role),
            vec![
                (None, "offline_access".into()),
                (None, "uma_authorization".into()),
                (account.clone(), "view-profile".into()),
                (account, "manage-account".into()),
            ],
        );
        if name != "master" {
            realm.add_admin_roles();
        }
        let add_composites = |realm: &mut Realm, id: RoleId, comp: Option<CompositesRep>| {
            if let Some(comp) = comp {
                let entry = realm.composites.entry(id).or_default();
                entry.extend(comp.realm.into_iter().map(|r| (None, r)));
                for (cid, roles) in comp.client {
                    entry.extend(roles.into_iter().map(|r| (Some(cid.clone()), r)));
                }
            }
        };
        if let Some(roles) = rep.roles {
            for r in roles.realm {
                if r.name.is_empty() {
                    continue;
                }
                realm.realm_roles.insert(r.name.clone());
                if let Some(d) = r.description.filter(|d| !d.is_empty()) {
                    realm.role_descriptions.insert((None, r.name.clone()), d);
                }
                add_composites(&mut realm, (None, r.name), r.composites);
            }
            for (cid, list) in roles.client {
                if !realm.clients.iter().any(|c| c.client_id == cid) {
                    warnings.push(format!("realm {name}: roles for unknown client {cid}"));
                }
                for r in list {
                    if r.name.is_empty() {
                        continue;
                    }
                    realm.client_roles.entry(cid.clone()).or_default().insert(r.name.clone());
                    add_composites(&mut realm, (Some(cid.clone()), r.name), r.composites);
                }
            }
        }

        // Users.
        for u in rep.users.unwrap_or_default() {
            if u.username.is_empty() {
                return Err(format!("realm {name}: a user has no username"));
            }
            let username = u.username.to_lowercase();
            if realm.users.iter().any(|x| x.username == username) {
                return Err(format!("realm {name}: duplicate user {username}"));
            }
            if u.enabled.is_none() {
                warnings.push(format!("realm {name}: user {username} has no \"enabled\"; Keycloak imports it as disabled"));
            }
            for r in &u.realm_roles {
                if !realm.realm_roles.contains(r) {
                    warnings.push(format!("realm {name}: user {username} has undeclared realm role {r} (created)"));
                    realm.realm_roles.insert(r.clone());
                }
            }
            for cid in u.client_roles.keys() {
                if realm.client(cid).is_none() {
                    return Err(format!("realm {name}: Unable to find client role mappings for client: {cid}"));
                }
            }
            let service_account = match &u.service_account_client_id {
                None => None,
                Some(cid) => match realm.client(cid) {
                    Some(c) => Some(c.id.clone()),
                    None => {
                        return Err(format!("realm {name}: Unable to find client specified for service account link. Client: {cid}"))
                    }
                },
            };
            for (cid, roles) in &u.client_roles {
                for r in roles {
                    let set = realm.client_roles.entry(cid.clone()).or_default();
                    if !set.contains(r) {
                        warnings.push(format!("realm {name}: user {username} has undeclared role {cid}/{r} (created)"));
                        set.insert(r.clone());
                    }
                }
            }
            let password = u.credentials.iter().find(|c| c.kind == "password").and_then(|c| c.value.clone());
            realm.users.push(User {
                id: u.id.unwrap_or_else(new_uuid),
                username,
                enabled: u.enabled.unwrap_or(false),
                email: u.email.filter(|e| !e.is_empty()).map(|e| e.to_lowercase()),
                first_name: u.first_name,
                last_name: u.last_name,
                email_verified: u.email_verified.unwrap_or(false),
                password,
                realm_roles: u.realm_roles,
                client_roles: u.client_roles,
                service_account,
                created: crate::util::now_ms(),
                password_created: crate::util::now_ms(),
            });
        }
        // Clients with service accounts whose account the import did not declare get one
        // with default roles (`RealmManager.setupClientServiceAccountsAndAuthorizationOnImport`).
        let missing: Vec<Client> =
            realm.clients.iter().filter(|c| c.service_accounts && realm.service_account_of(&c.id).is_none()).cloned().collect();
        let generated: Vec<String> = missing.iter().map(|c| c.client_id.clone()).collect();
        for c in missing {
            realm.add_service_account(&c);
        }
        // Then the authorization settings (`setupClientServiceAccountsAndAuthorizationOnImport`).
        for (client_id, settings) in authz_settings {
            let w = crate::authz::import_on_realm_import(&mut realm, &client_id, settings.as_ref(), generated.contains(&client_id))
                .map_err(|e| format!("realm {name}: client {client_id}: {e}"))?;
            warnings.extend(w.into_iter().map(|w| format!("realm {name}: client {client_id}: {w}")));
        }
        Ok((realm, warnings))
    }

    /// The key provider that signs: highest priority, then newest.
    pub fn active_key(&self) -> Option<&crate::jwt::RsaKeys> {
        self.rsa_keys.iter().max_by_key(|k| (k.priority, k.seq)).map(|k| &*k.key)
    }

    /// Add an `rsa-generated` key provider; returns its component id.
    pub fn add_key(
        &mut self, name: &str, priority: i64, key: std::sync::Arc<crate::jwt::RsaKeys>, config: serde_json::Map<String, Value>,
    ) -> String {
        let seq = self.rsa_keys.iter().map(|k| k.seq + 1).max().unwrap_or(0);
        let component_id = new_uuid();
        self.rsa_keys.push(RealmKey { component_id: component_id.clone(), name: name.to_string(), priority, seq, key, config });
        component_id
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn user_by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The service-account user of the client with internal id `client_uuid`.
    pub fn service_account_of(&self, client_uuid: &str) -> Option<&User> {
        self.users.iter().find(|u| u.service_account.as_deref() == Some(client_uuid))
    }

    /// Give a client its service account unless it has one (Keycloak's `enableServiceAccount`).
    /// A username already taken by another user leaves the client without one.
    pub fn add_service_account(&mut self, client: &Client) {
        if self.service_account_of(&client.id).is_some() {
            return;
        }
        let user = User::service_account_for(client);
        if !self.users.iter().any(|u| u.username == user.username) {
            self.users.push(user);
        }
    }

    /// The `realm-management` client's admin roles, as every non-master Keycloak realm has
    /// them (also added to an import that lacks some: `checkRealmAdminManagementRoles`):
    /// `realm-admin` includes all, `view-users` includes `query-users` and `query-groups`,
    /// `view-clients` includes `query-clients`.
    pub fn add_admin_roles(&mut self) {
        let rm = Some(REALM_MANAGEMENT.to_string());
        let set = self.client_roles.entry(REALM_MANAGEMENT.to_string()).or_default();
        for r in ADMIN_ROLES {
            set.insert(r.to_string());
        }
        let mut add = |role: &str, parts: &[&str]| {
            let entry = self.composites.entry((rm.clone(), role.to_string())).or_default();
            for p in parts {
                let id = (rm.clone(), p.to_string());
                if !entry.contains(&id) {
                    entry.push(id);
                }
            }
        };
        add("view-users", &["query-users", "query-groups"]);
        add("view-clients", &["query-clients"]);
        let others: Vec<&str> = ADMIN_ROLES.iter().copied().filter(|r| *r != "realm-admin").collect();
        add("realm-admin", &others);
    }

    /// Login lookup: username (case-insensitive), or email when allowed.
    pub fn user_for_login(&self, name: &str) -> Option<&User> {
        let n = name.trim().to_lowercase();
        if n.is_empty() {
            return None;
        }
        self.users
            .iter()
            .find(|u| u.username == n)
            .or_else(|| {
                if self.login_with_email_allowed {
                    self.users.iter().find(|u| u.email.as_deref() == Some(n.as_str()))
                } else {
                    None
                }
            })
    }

    /// All roles of a user, composites expanded, including `default-roles-<realm>`.
    pub fn effective_roles(&self, user: &User) -> BTreeSet<RoleId> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<RoleId> = vec![(None, self.default_role.clone())];
        stack.extend(user.realm_roles.iter().map(|r| (None, r.clone())));
        for (cid, roles) in &user.client_roles {
            stack.extend(roles.iter().map(|r| (Some(cid.clone()), r.clone())));
        }
        while let Some(r) = stack.pop() {
            if out.insert(r.clone()) {
                if let Some(c) = self.composites.get(&r) {
                    stack.extend(c.iter().cloned());
                }
            }
        }
        out
    }
}

impl Client {
    /// A client from its representation, with Keycloak's defaults for missing fields.
    pub fn from_rep(c: ClientRep) -> Client {
        let public = c.public_client.unwrap_or(false);
        Client {
            id: c.id.filter(|i| !i.is_empty()).unwrap_or_else(new_uuid),
            client_id: c.client_id,
            enabled: c.enabled.unwrap_or(true),
            public_client: public,
            bearer_only: c.bearer_only.unwrap_or(false),
            secret: c.secret,
            standard_flow: c.standard_flow_enabled.unwrap_or(true),
            implicit_flow: c.implicit_flow_enabled.unwrap_or(false),
            direct_access: c.direct_access_grants_enabled.unwrap_or(true),
            service_accounts: c.service_accounts_enabled.unwrap_or(false),
            redirect_uris: c.redirect_uris,
            web_origins: c.web_origins,
            root_url: c.root_url.filter(|s| !s.is_empty()),
            attributes: c.attributes.iter().map(|(k, v)| (k.clone(), attr_string(v))).collect(),
            extra: Default::default(),
        }
    }

    /// The client's redirect URI patterns, relative ones resolved against rootUrl
    /// (or the server origin).
    pub fn resolved_redirect_uris(&self, server_origin: &str) -> Vec<String> {
        resolve_relative(&self.redirect_uris, self.root_url.as_deref(), server_origin)
    }

    /// Allowed CORS origins (`+` = origins of the http(s) redirect URIs). May contain `*`.
    pub fn web_origins(&self, server_origin: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for w in &self.web_origins {
            if w == "+" {
                for r in self.resolved_redirect_uris(server_origin) {
                    if r.starts_with("http://") || r.starts_with("https://") {
                        if let Some(o) = crate::util::origin_of(&r) {
                            out.insert(o);
                        }
                    }
                }
            } else if !w.is_empty() {
                out.insert(w.trim_end_matches('/').to_string());
            }
        }
        out
    }

    /// Valid post-logout redirect URIs (`##`-separated attribute; `+` = redirect URIs).
    pub fn post_logout_redirect_uris(&self, server_origin: &str) -> Vec<String> {
        let Some(attr) = self.attributes.get("post.logout.redirect.uris") else {
            return vec![];
        };
        let mut raw = Vec::new();
        for part in attr.split("##") {
            let part = part.trim();
            if part == "+" {
                raw.extend(self.redirect_uris.iter().cloned());
            } else if !part.is_empty() {
                raw.push(part.to_string());
            }
        }
        resolve_relative(&raw, self.root_url.as_deref(), server_origin)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }

    pub fn attr_true(&self, name: &str) -> bool {
        self.attr(name) == Some("true")
    }
}

fn resolve_relative(list: &[String], root: Option<&str>, server_origin: &str) -> Vec<String> {
    list.iter()
        .map(|u| {
            if u.starts_with('/') {
                format!("{}{}", root.unwrap_or(server_origin).trim_end_matches('/'), u)
            } else {
                u.clone()
            }
        })
        .collect()
}
