//! Authorization Services (UMA 2.0) model and policy evaluation: a client's resource
//! server (resources, scopes, policies and permissions) as a realm import or the Admin API
//! gives it (`authorizationSettings`, Keycloak's ResourceServerRepresentation), and the
//! evaluation Keycloak runs for the `uma-ticket` grant (its `DefaultPolicyEvaluator`,
//! permission providers and `DecisionPermissionCollector`, described in the reference).
//! The endpoints are in uma.rs.
//!
//! Emulated policy types: `role`, `user`, `client`, `aggregate`; permission types
//! `resource` and `scope`. Any other type (js, time, group, regex, client-scope, ...) is
//! imported with a warning and never grants.

use crate::model::{new_uuid, Client, Realm, RoleId, User};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

// ------------------------------------------------------------------ model

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Strategy {
    Unanimous,
    Affirmative,
    Consensus,
}

impl Strategy {
    fn parse(v: Option<&Value>) -> Result<Strategy, String> {
        match v.and_then(|v| v.as_str()) {
            None => Ok(Strategy::Unanimous),
            Some("UNANIMOUS") => Ok(Strategy::Unanimous),
            Some("AFFIRMATIVE") => Ok(Strategy::Affirmative),
            Some("CONSENSUS") => Ok(Strategy::Consensus),
            Some(o) => Err(format!("unknown decisionStrategy {o:?}")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Unanimous => "UNANIMOUS",
            Strategy::Affirmative => "AFFIRMATIVE",
            Strategy::Consensus => "CONSENSUS",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Enforcement {
    Enforcing,
    Permissive,
    Disabled,
}

impl Enforcement {
    fn parse(v: Option<&Value>) -> Result<Enforcement, String> {
        match v.and_then(|v| v.as_str()) {
            None | Some("ENFORCING") => Ok(Enforcement::Enforcing),
            Some("PERMISSIVE") => Ok(Enforcement::Permissive),
            Some("DISABLED") => Ok(Enforcement::Disabled),
            Some(o) => Err(format!("unknown policyEnforcementMode {o:?}")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Enforcement::Enforcing => "ENFORCING",
            Enforcement::Permissive => "PERMISSIVE",
            Enforcement::Disabled => "DISABLED",
        }
    }
}

/// A client's resource server.
#[derive(Clone, Debug)]
pub struct ResourceServer {
    pub enforcement: Enforcement,
    pub decision: Strategy,
    pub allow_remote: bool,
    pub resources: Vec<Resource>,
    pub scopes: Vec<Scope>,
    /// Policies and permissions, in import order.
    pub policies: Vec<Policy>,
}

#[derive(Clone, Debug)]
pub struct Scope {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub icon_uri: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub kind: Option<String>,
    pub uris: Vec<String>,
    /// Scope ids.
    pub scopes: Vec<String>,
    /// The owning user's id; `None` = the resource server itself.
    pub owner: Option<String>,
    pub owner_managed_access: bool,
    pub attributes: Map<String, Value>,
    pub icon_uri: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `role`, `user`, `client`, `aggregate`, `resource`, `scope`, or an unsupported type.
    pub kind: String,
    pub negative: bool,
    pub decision: Strategy,
    /// Resource ids (permissions).
    pub resources: Vec<String>,
    /// Scope ids (scope permissions).
    pub scopes: Vec<String>,
    /// `applyPolicies`: policy ids.
    pub associated: Vec<String>,
    /// `defaultResourceType` of a resource permission.
    pub resource_type: Option<String>,
    /// Role policy: (role, required).
    pub roles: Vec<(RoleId, bool)>,
    pub fetch_roles: bool,
    /// User policy: user ids.
    pub users: Vec<String>,
    /// Client policy: client internal ids.
    pub clients: Vec<String>,
}

impl ResourceServer {
    /// What Keycloak creates when authorization is switched on for an existing client
    /// (Admin API `PUT`): no resources, policies or permissions.
    pub fn empty() -> ResourceServer {
        ResourceServer {
            enforcement: Enforcement::Enforcing,
            decision: Strategy::Unanimous,
            allow_remote: true,
            resources: vec![],
            scopes: vec![],
            policies: vec![],
        }
    }

    fn scope_by_name(&self, name: &str) -> Option<&Scope> {
        self.scopes.iter().find(|s| s.name == name)
    }

    fn scope(&self, id: &str) -> Option<&Scope> {
        self.scopes.iter().find(|s| s.id == id)
    }

    fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }

    fn scope_names(&self, ids: &[String]) -> Vec<String> {
        ids.iter().filter_map(|i| self.scope(i)).map(|s| s.name.clone()).collect()
    }
}

// ------------------------------------------------------------------ import

/// The settings of a client of a realm being imported: Keycloak creates the resource
/// server (confidential clients only; service accounts forced on, `uma_protection` role for
/// a service account the import generated), then imports `authorizationSettings`.
pub fn import_on_realm_import(
    realm: &mut Realm, client_id: &str, settings: Option<&Value>, account_generated: bool,
) -> Result<Vec<String>, String> {
    let client = realm.client(client_id).cloned().ok_or("client vanished")?;
    if client.public_client || client.bearer_only {
        return Err("Only confidential clients are allowed to set authorization settings".into());
    }
    enable_service_account(realm, &client, account_generated);
    let (rs, warnings) = match settings {
        Some(v) if !v.is_null() => parse(v, realm, &client)?,
        _ => (ResourceServer::empty(), vec![]),
    };
    realm.authz.insert(client.id.clone(), rs);
    Ok(warnings)
}

/// `RepresentationToModel.createResourceServer`: service accounts on (and the account
/// created), the client role `uma_protection` granted to the account when `grant_role`.
pub fn enable_service_account(realm: &mut Realm, client: &Client, grant_role: bool) {
    if let Some(c) = realm.clients.iter_mut().find(|c| c.id == client.id) {
        c.service_accounts = true;
    }
    realm.add_service_account(client);
    if grant_role {
        realm.client_roles.entry(client.client_id.clone()).or_default().insert("uma_protection".into());
        if let Some(u) = realm.users.iter_mut().find(|u| u.service_account.as_deref() == Some(client.id.as_str())) {
            let roles = u.client_roles.entry(client.client_id.clone()).or_default();
            if !roles.iter().any(|r| r == "uma_protection") {
                roles.push("uma_protection".into());
            }
        }
    }
}

fn opt_str(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(String::from)
}

/// A list-valued policy setting: the typed representation's top-level array, or the
/// export format's `config` entry (a JSON array encoded as a string).
fn list_setting(o: &Map<String, Value>, top: &str, key: &str) -> Result<Vec<Value>, String> {
    if let Some(Value::Array(a)) = o.get(top) {
        return Ok(a.clone());
    }
    match o.get("config").and_then(|c| c.get(key)) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(vec![]),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => Ok(a),
            _ => Err(format!("config {key} is not a JSON array: {s}")),
        },
        Some(_) => Err(format!("config {key} must be a string")),
    }
}

fn config_str(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get("config").and_then(|c| c.get(key)).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).map(String::from)
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        o => o.to_string(),
    }
}

/// A role of a role policy: `name` (realm role), `clientId/name`, or a role id. Unknown
/// roles are dropped (as Keycloak's import does); an unknown client is an error.
fn resolve_role(realm: &Realm, id: &str) -> Result<Option<RoleId>, String> {
    let by_id = || {
        let realm_roles = realm.realm_roles.iter().map(|r| (None, r.clone()));
        let client_roles = realm.client_roles.iter().flat_map(|(c, rs)| rs.iter().map(move |r| (Some(c.clone()), r.clone())));
        realm_roles.chain(client_roles).find(|r| crate::admin::role_id(realm, r) == id)
    };
    if let Some((cid, name)) = id.split_once('/') {
        if realm.client(cid).is_none() {
            return by_id().map(Some).ok_or(format!("Client with id [{cid}] not found."));
        }
        if realm.client_roles.get(cid).is_some_and(|s| s.contains(name)) {
            return Ok(Some((Some(cid.to_string()), name.to_string())));
        }
        return Ok(by_id());
    }
    if realm.realm_roles.contains(id) {
        return Ok(Some((None, id.to_string())));
    }
    Ok(by_id())
}

fn find_user<'a>(realm: &'a Realm, id: &str) -> Option<&'a User> {
    realm.user_by_id(id).or_else(|| realm.users.iter().find(|u| u.username == id.to_lowercase()))
}

/// Parse a ResourceServerRepresentation (`authorizationSettings`).
pub fn parse(v: &Value, realm: &Realm, client: &Client) -> Result<(ResourceServer, Vec<String>), String> {
    let o = v.as_object().ok_or("authorizationSettings must be an object")?;
    let mut warnings = Vec::new();
    let mut rs = ResourceServer {
        enforcement: Enforcement::parse(o.get("policyEnforcementMode"))?,
        decision: Strategy::parse(o.get("decisionStrategy"))?,
        allow_remote: o.get("allowRemoteResourceManagement").and_then(|v| v.as_bool()).unwrap_or(true),
        resources: vec![],
        scopes: vec![],
        policies: vec![],
    };
    import_into(&mut rs, o, realm, client, &mut warnings)?;
    Ok((rs, warnings))
}

/// Add the scopes, resources and policies of a representation (`.../authz/resource-server/import`
/// and the realm import): existing names are updated, new ones created.
pub fn import_into(
    rs: &mut ResourceServer, o: &Map<String, Value>, realm: &Realm, client: &Client, warnings: &mut Vec<String>,
) -> Result<(), String> {
    let list = |k: &str| -> Result<Vec<Map<String, Value>>, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(a)) => a.iter().map(|x| x.as_object().cloned().ok_or(format!("{k}: entries must be objects"))).collect(),
            Some(_) => Err(format!("{k} must be an array")),
        }
    };
    // Scopes.
    for s in list("scopes")? {
        let name = opt_str(&s, "name").ok_or("a scope has no name")?;
        let scope = Scope {
            id: opt_str(&s, "id").unwrap_or_else(new_uuid),
            display_name: opt_str(&s, "displayName"),
            icon_uri: opt_str(&s, "iconUri"),
            name: name.clone(),
        };
        match rs.scopes.iter_mut().find(|x| x.name == name) {
            Some(x) => {
                x.display_name = scope.display_name;
                x.icon_uri = scope.icon_uri;
            }
            None => rs.scopes.push(scope),
        }
    }
    // Resources (scopes they name but the list lacks are created).
    for r in list("resources")? {
        let name = opt_str(&r, "name").ok_or("a resource has no name")?;
        let mut scope_ids = Vec::new();
        for s in r.get("scopes").and_then(|s| s.as_array()).cloned().unwrap_or_default() {
            let sname = match &s {
                Value::String(n) => n.clone(),
                other => other.get("name").and_then(|n| n.as_str()).map(String::from).ok_or("a resource scope has no name")?,
            };
            let id = match rs.scope_by_name(&sname) {
                Some(x) => x.id.clone(),
                None => {
                    let id = new_uuid();
                    rs.scopes.push(Scope { id: id.clone(), name: sname, display_name: None, icon_uri: None });
                    id
                }
            };
            if !scope_ids.contains(&id) {
                scope_ids.push(id);
            }
        }
        let owner = match r.get("owner") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let key = match v {
                    Value::String(s) => s.clone(),
                    o => o.get("id").or_else(|| o.get("name")).and_then(|x| x.as_str()).unwrap_or("").to_string(),
                };
                if key == client.id || key == client.client_id {
                    None
                } else {
                    Some(find_user(realm, &key).map(|u| u.id.clone()).ok_or(format!("Owner [{key}] of resource [{name}] not found"))?)
                }
            }
        };
        let mut uris: Vec<String> =
            r.get("uris").and_then(|u| u.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
        if let Some(u) = opt_str(&r, "uri") {
            if !uris.contains(&u) {
                uris.push(u);
            }
        }
        let resource = Resource {
            id: opt_str(&r, "_id").or_else(|| opt_str(&r, "id")).unwrap_or_else(new_uuid),
            display_name: opt_str(&r, "displayName"),
            kind: opt_str(&r, "type"),
            uris,
            scopes: scope_ids,
            owner,
            owner_managed_access: r.get("ownerManagedAccess").and_then(|v| v.as_bool()).unwrap_or(false),
            attributes: r.get("attributes").and_then(|a| a.as_object()).cloned().unwrap_or_default(),
            icon_uri: opt_str(&r, "icon_uri"),
            name: name.clone(),
        };
        match rs.resources.iter_mut().find(|x| x.name == name && x.owner == resource.owner) {
            Some(x) => {
                let id = x.id.clone();
                *x = Resource { id, ..resource };
            }
            None => {
                if rs.resources.iter().any(|x| x.id == resource.id) {
                    return Err(format!("Resource with id [{}] already exists", resource.id));
                }
                rs.resources.push(resource)
            }
        }
    }
    // Policies and permissions: created first, then `applyPolicies` resolved (by name,
    // then id) once all are known.
    let reps = list("policies")?;
    let mut pending: Vec<(usize, Vec<Value>)> = Vec::new();
    for p in &reps {
        let name = opt_str(p, "name").ok_or("a policy has no name")?;
        let kind = opt_str(p, "type").ok_or(format!("policy [{name}] has no type"))?;
        let negative = match p.get("logic").and_then(|v| v.as_str()) {
            None | Some("POSITIVE") => false,
            Some("NEGATIVE") => true,
            Some(o) => return Err(format!("policy [{name}]: unknown logic {o:?}")),
        };
        let mut policy = Policy {
            id: opt_str(p, "id").unwrap_or_else(new_uuid),
            description: opt_str(p, "description"),
            kind: kind.clone(),
            negative,
            decision: Strategy::parse(p.get("decisionStrategy")).map_err(|e| format!("policy [{name}]: {e}"))?,
            resources: vec![],
            scopes: vec![],
            associated: vec![],
            resource_type: None,
            roles: vec![],
            fetch_roles: false,
            users: vec![],
            clients: vec![],
            name: name.clone(),
        };
        match kind.as_str() {
            "role" => {
                for r in list_setting(p, "roles", "roles")? {
                    let (id, required) = match &r {
                        Value::String(s) => (s.clone(), false),
                        o => (
                            o.get("id").map(as_text).ok_or(format!("policy [{name}]: a role has no id"))?,
                            o.get("required").and_then(|v| v.as_bool().or_else(|| v.as_str().map(|s| s == "true"))).unwrap_or(false),
                        ),
                    };
                    match resolve_role(realm, &id)? {
                        Some(role) => policy.roles.push((role, required)),
                        None => warnings.push(format!("policy [{name}]: role {id} does not exist (dropped)")),
                    }
                }
                policy.fetch_roles = p
                    .get("fetchRoles")
                    .and_then(|v| v.as_bool())
                    .or_else(|| config_str(p, "fetchRoles").map(|s| s == "true"))
                    .unwrap_or(false);
            }
            "user" => {
                for u in list_setting(p, "users", "users")? {
                    let key = as_text(&u);
                    let user = find_user(realm, &key)
                        .ok_or(format!("Error while updating policy [{name}]. User [{key}] could not be found."))?;
                    policy.users.push(user.id.clone());
                }
            }
            "client" => {
                for c in list_setting(p, "clients", "clients")? {
                    let key = as_text(&c);
                    let found = realm.client(&key).or_else(|| realm.clients.iter().find(|x| x.id == key));
                    let found = found.ok_or(format!("Error while updating policy [{name}]. Client [{key}] could not be found."))?;
                    policy.clients.push(found.id.clone());
                }
            }
            "aggregate" | "resource" | "scope" => {}
            other => warnings.push(format!("policy [{name}]: type {other:?} is not emulated (it never grants)")),
        }
        if kind == "resource" || kind == "scope" {
            for r in list_setting(p, "resources", "resources")? {
                let key = as_text(&r);
                let found = rs
                    .resources
                    .iter()
                    .find(|x| x.id == key)
                    .or_else(|| rs.resources.iter().find(|x| x.name == key && x.owner.is_none()))
                    .ok_or(format!("Resource with id or name [{key}] does not exist"))?;
                policy.resources.push(found.id.clone());
            }
            policy.resource_type = config_str(p, "defaultResourceType").or_else(|| opt_str(p, "resourceType"));
        }
        if kind == "scope" {
            for s in list_setting(p, "scopes", "scopes")? {
                let key = as_text(&s);
                let found = rs
                    .scopes
                    .iter()
                    .find(|x| x.id == key)
                    .or_else(|| rs.scope_by_name(&key))
                    .ok_or(format!("Scope with id or name [{key}] does not exist"))?;
                policy.scopes.push(found.id.clone());
            }
        }
        let apply = list_setting(p, "policies", "applyPolicies")?;
        let idx = match rs.policies.iter().position(|x| x.name == name) {
            Some(i) => {
                policy.id = rs.policies[i].id.clone();
                rs.policies[i] = policy;
                i
            }
            None => {
                rs.policies.push(policy);
                rs.policies.len() - 1
            }
        };
        pending.push((idx, apply));
    }
    for (idx, apply) in pending {
        let mut ids = Vec::new();
        for a in apply {
            let key = as_text(&a);
            let found = rs
                .policies
                .iter()
                .find(|x| x.name == key)
                .or_else(|| rs.policies.iter().find(|x| x.id == key))
                .ok_or(format!("Policy with name [{key}] not defined (applied by [{}])", rs.policies[idx].name))?;
            ids.push(found.id.clone());
        }
        rs.policies[idx].associated = ids;
    }
    Ok(())
}

// ------------------------------------------------------------------ export

fn role_label(role: &RoleId) -> String {
    match &role.0 {
        Some(c) => format!("{c}/{}", role.1),
        None => role.1.clone(),
    }
}

fn json_text(v: Value) -> Value {
    Value::String(v.to_string())
}

/// The ResourceServerRepresentation with everything (`.../authz/resource-server/settings`),
/// in the export format (policy settings in `config`, lists as JSON-array strings, names).
pub fn export(rs: &ResourceServer, realm: &Realm, client: &Client) -> Value {
    let resources: Vec<Value> = rs
        .resources
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("name".into(), r.name.clone().into());
            if let Some(t) = &r.kind {
                m.insert("type".into(), t.clone().into());
            }
            let owner = match &r.owner {
                None => json!({ "id": client.id, "name": client.client_id }),
                Some(u) => json!({ "id": u, "name": realm.user_by_id(u).map(|u| u.username.clone()) }),
            };
            m.insert("owner".into(), owner);
            m.insert("ownerManagedAccess".into(), r.owner_managed_access.into());
            if let Some(d) = &r.display_name {
                m.insert("displayName".into(), d.clone().into());
            }
            m.insert("attributes".into(), Value::Object(r.attributes.clone()));
            m.insert("_id".into(), r.id.clone().into());
            m.insert("uris".into(), json!(r.uris));
            let scopes: Vec<Value> = rs.scope_names(&r.scopes).into_iter().map(|n| json!({ "name": n })).collect();
            m.insert("scopes".into(), Value::Array(scopes));
            if let Some(i) = &r.icon_uri {
                m.insert("icon_uri".into(), i.clone().into());
            }
            Value::Object(m)
        })
        .collect();
    let policies: Vec<Value> = rs.policies.iter().map(|p| policy_rep(rs, realm, p)).collect();
    let scopes: Vec<Value> = rs
        .scopes
        .iter()
        .map(|s| {
            let mut m = Map::new();
            m.insert("id".into(), s.id.clone().into());
            m.insert("name".into(), s.name.clone().into());
            if let Some(i) = &s.icon_uri {
                m.insert("iconUri".into(), i.clone().into());
            }
            if let Some(d) = &s.display_name {
                m.insert("displayName".into(), d.clone().into());
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "allowRemoteResourceManagement": rs.allow_remote,
        "policyEnforcementMode": rs.enforcement.name(),
        "resources": resources,
        "policies": policies,
        "scopes": scopes,
        "decisionStrategy": rs.decision.name(),
    })
}

fn policy_rep(rs: &ResourceServer, realm: &Realm, p: &Policy) -> Value {
    let mut config = Map::new();
    match p.kind.as_str() {
        "role" => {
            let roles: Vec<Value> = p.roles.iter().map(|(r, req)| json!({ "id": role_label(r), "required": req })).collect();
            config.insert("roles".into(), json_text(Value::Array(roles)));
            if p.fetch_roles {
                config.insert("fetchRoles".into(), "true".into());
            }
        }
        "user" => {
            let users: Vec<String> = p.users.iter().map(|u| realm.user_by_id(u).map(|x| x.username.clone()).unwrap_or_else(|| u.clone())).collect();
            config.insert("users".into(), json_text(json!(users)));
        }
        "client" => {
            let clients: Vec<String> =
                p.clients.iter().map(|c| realm.clients.iter().find(|x| &x.id == c).map(|x| x.client_id.clone()).unwrap_or_else(|| c.clone())).collect();
            config.insert("clients".into(), json_text(json!(clients)));
        }
        _ => {}
    }
    if !p.resources.is_empty() {
        let names: Vec<String> = p.resources.iter().filter_map(|r| rs.resource(r)).map(|r| r.name.clone()).collect();
        config.insert("resources".into(), json_text(json!(names)));
    }
    if let Some(t) = &p.resource_type {
        config.insert("defaultResourceType".into(), t.clone().into());
    }
    if !p.scopes.is_empty() {
        config.insert("scopes".into(), json_text(json!(rs.scope_names(&p.scopes))));
    }
    if !p.associated.is_empty() {
        let names: Vec<String> = p.associated.iter().filter_map(|a| rs.policy(a)).map(|a| a.name.clone()).collect();
        config.insert("applyPolicies".into(), json_text(json!(names)));
    }
    let mut m = Map::new();
    m.insert("id".into(), p.id.clone().into());
    m.insert("name".into(), p.name.clone().into());
    if let Some(d) = &p.description {
        m.insert("description".into(), d.clone().into());
    }
    m.insert("type".into(), p.kind.clone().into());
    m.insert("logic".into(), if p.negative { "NEGATIVE" } else { "POSITIVE" }.into());
    m.insert("decisionStrategy".into(), p.decision.name().into());
    m.insert("config".into(), Value::Object(config));
    Value::Object(m)
}

// ------------------------------------------------------------------ evaluation

/// Who asks (Keycloak's `KeycloakIdentity`, from the access token).
pub struct Identity {
    /// `sub`: the user.
    pub user_id: String,
    /// `azp`: the client the token was issued to.
    pub client_id: String,
    pub realm_roles: BTreeSet<String>,
    pub client_roles: BTreeMap<String, BTreeSet<String>>,
    /// The token is the service account's of its own client (`isResourceServer`).
    pub resource_server: bool,
    /// `getId()`: that client's internal id for a service account of its client, else the user id.
    pub id: String,
}

impl Identity {
    pub fn from_token(realm: &Realm, claims: &Map<String, Value>) -> Identity {
        let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let names = |v: Option<&Value>| -> BTreeSet<String> {
            v.and_then(|v| v.get("roles")).and_then(|r| r.as_array()).map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default()
        };
        let realm_roles = names(claims.get("realm_access"));
        let client_roles = claims
            .get("resource_access")
            .and_then(|r| r.as_object())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), names(Some(v)))).collect())
            .unwrap_or_default();
        let (user_id, client_id) = (s("sub"), s("azp"));
        let client_uuid = realm.client(&client_id).map(|c| c.id.clone());
        let resource_server = client_uuid
            .as_deref()
            .and_then(|c| realm.service_account_of(c))
            .is_some_and(|u| u.id == user_id);
        let id = if resource_server { client_uuid.unwrap_or_default() } else { user_id.clone() };
        Identity { user_id, client_id, realm_roles, client_roles, resource_server, id }
    }
}

/// A requested permission: `resource` is an id, a name or a `resource-type*:` selector.
#[derive(Clone, Debug)]
pub struct Requested {
    pub resource: Option<String>,
    pub scopes: Vec<String>,
}

/// A granted permission (Keycloak's `Permission`: `rsid`, `rsname`, `scopes`).
#[derive(Clone, Debug)]
pub struct Granted {
    pub rsid: Option<String>,
    pub rsname: Option<String>,
    pub scopes: Vec<String>,
}

impl Granted {
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(id) = &self.rsid {
            m.insert("rsid".into(), id.clone().into());
        }
        if let Some(n) = &self.rsname {
            m.insert("rsname".into(), n.clone().into());
        }
        if !self.scopes.is_empty() {
            m.insert("scopes".into(), json!(self.scopes));
        }
        Value::Object(m)
    }
}

/// An OAuth error of the grant (status, error, description).
#[derive(Debug)]
pub struct AuthzError(pub u16, pub &'static str, pub String);

/// A permission to evaluate (Keycloak's `ResourcePermission`): a resource (index) and scope
/// ids, or scopes alone.
struct Work {
    key: String,
    resource: Option<usize>,
    scopes: Vec<String>,
}

/// What `createPermissions` and `Permissions.all` build, in order.
pub struct Plan {
    works: Vec<Work>,
}

impl Plan {
    fn index(&self, key: &str) -> Option<usize> {
        self.works.iter().position(|w| w.key == key)
    }
}

/// `response_permissions_limit`.
struct Limit(Option<i64>);

impl Limit {
    fn exhausted(&self) -> bool {
        self.0.is_some_and(|l| l <= 0)
    }
    fn take(&mut self) {
        if let Some(l) = self.0.as_mut() {
            *l -= 1;
        }
    }
}

struct Ctx<'a> {
    rs: &'a ResourceServer,
    realm: &'a Realm,
    /// The resource server client's internal id (owner of the server's resources).
    rs_client: &'a str,
    id: &'a Identity,
}

impl Ctx<'_> {
    fn resource_idx(&self, id: &str) -> Option<usize> {
        self.rs.resources.iter().position(|r| r.id == id)
    }

    /// Owned by the resource server (or, for `owner`, by that id).
    fn owned_by(&self, r: &Resource, owner: &str) -> bool {
        match &r.owner {
            None => owner == self.rs_client,
            Some(u) => u == owner,
        }
    }

    /// `Permissions.resolveScopes`: the resource's scopes (plus those of the server's
    /// resources of its type, for a typed resource not owned by the server), narrowed to
    /// the requested ones when some are requested.
    fn resolve_scopes(&self, r: &Resource, requested: &[String]) -> Vec<String> {
        let mut scopes = r.scopes.clone();
        if let (Some(t), Some(_)) = (&r.kind, &r.owner) {
            for typed in self.rs.resources.iter().filter(|x| x.kind.as_ref() == Some(t) && x.owner.is_none()) {
                for s in &typed.scopes {
                    if !scopes.contains(s) {
                        scopes.push(s.clone());
                    }
                }
            }
        }
        if !requested.is_empty() {
            scopes.retain(|s| requested.contains(s));
        }
        scopes
    }

    /// `addPermission`: a resource already planned is kept as is; a resource none of whose
    /// scopes was requested is not added.
    fn add(&self, plan: &mut Plan, limit: &mut Limit, idx: usize, requested: &[String]) {
        let r = &self.rs.resources[idx];
        if plan.index(&r.id).is_some() {
            return;
        }
        let scopes = self.resolve_scopes(r, requested);
        if !requested.is_empty() && scopes.is_empty() {
            return;
        }
        plan.works.push(Work { key: r.id.clone(), resource: Some(idx), scopes });
        limit.take();
    }
}

/// Keycloak's `createPermissions`: the requested permissions (ids or names resolved; a
/// resolved name replaces `resource` in `requested`), then those of a still active RPT.
#[allow(clippy::too_many_arguments)]
pub fn plan_requested(
    rs: &ResourceServer, realm: &Realm, rs_client: &str, id: &Identity, requested: &mut [Requested], extra_scopes: Option<&str>,
    rpt: Option<&[Value]>, limit: Option<i64>,
) -> Result<Plan, AuthzError> {
    let cx = Ctx { rs, realm, rs_client, id };
    let mut plan = Plan { works: vec![] };
    let mut limit = Limit(limit);
    for req in requested.iter_mut() {
        if limit.exhausted() {
            break;
        }
        // resolveRequestedScopes
        let mut names = req.scopes.clone();
        if let Some(extra) = extra_scopes {
            for s in extra.split(' ') {
                if !names.iter().any(|n| n == s) {
                    names.push(s.to_string());
                }
            }
        }
        let mut scope_ids: Vec<String> = Vec::new();
        for n in &names {
            if let Some(s) = rs.scope_by_name(n) {
                if !scope_ids.contains(&s.id) {
                    scope_ids.push(s.id.clone());
                }
            }
        }
        if !names.is_empty() && scope_ids.is_empty() {
            return Err(AuthzError(400, "invalid_scope", format!("One of the given scopes [{}] is invalid", names.join(", "))));
        }
        match req.resource.clone() {
            Some(rid) => {
                let by_id = if rid.contains('-') { cx.resource_idx(&rid) } else { None };
                let typed = |prefix: &str| rid.strip_prefix(prefix).map(String::from);
                if let Some(idx) = by_id {
                    cx.add(&mut plan, &mut limit, idx, &scope_ids);
                } else if let Some(t) = typed("resource-type:") {
                    for (i, r) in rs.resources.iter().enumerate() {
                        if r.kind.as_deref() == Some(t.as_str()) && r.owner.is_none() {
                            cx.add(&mut plan, &mut limit, i, &scope_ids);
                        }
                    }
                } else if let Some(t) = typed("resource-type-any:") {
                    for (i, r) in rs.resources.iter().enumerate() {
                        if r.kind.as_deref() == Some(t.as_str()) {
                            cx.add(&mut plan, &mut limit, i, &scope_ids);
                        }
                    }
                } else if let Some(t) = typed("resource-type-instance:") {
                    for (i, r) in rs.resources.iter().enumerate() {
                        if r.kind.as_deref() == Some(t.as_str()) && r.owner.is_some() {
                            cx.add(&mut plan, &mut limit, i, &scope_ids);
                        }
                    }
                } else if let Some(t) = typed("resource-type-owner:") {
                    for (i, r) in rs.resources.iter().enumerate() {
                        if r.kind.as_deref() == Some(t.as_str()) && cx.owned_by(r, &id.id) {
                            cx.add(&mut plan, &mut limit, i, &scope_ids);
                        }
                    }
                } else {
                    // A name: the caller's own resource, then (unless the caller is this
                    // resource server) the server's.
                    if let Some(i) = rs.resources.iter().position(|r| r.name == rid && cx.owned_by(r, &id.id)) {
                        req.resource = Some(rs.resources[i].id.clone());
                        cx.add(&mut plan, &mut limit, i, &scope_ids);
                    }
                    if !id.resource_server || id.id != rs_client {
                        if let Some(i) = rs.resources.iter().position(|r| r.name == rid && r.owner.is_none()) {
                            req.resource = Some(rs.resources[i].id.clone());
                            cx.add(&mut plan, &mut limit, i, &scope_ids);
                        }
                        if plan.works.is_empty() {
                            return Err(AuthzError(400, "invalid_resource", format!("Resource with id [{rid}] does not exist.")));
                        }
                    }
                }
            }
            None => {
                // resolveScopePermissions: every resource with one of the scopes, else the
                // scopes alone.
                let mut processed = false;
                for (i, r) in rs.resources.iter().enumerate() {
                    if !r.scopes.iter().any(|s| scope_ids.contains(s)) || limit.exhausted() {
                        continue;
                    }
                    match plan.index(&r.id) {
                        Some(w) => {
                            for s in &scope_ids {
                                if !plan.works[w].scopes.contains(s) {
                                    plan.works[w].scopes.push(s.clone());
                                }
                            }
                        }
                        None => {
                            let scopes = cx.resolve_scopes(r, &scope_ids);
                            plan.works.push(Work { key: r.id.clone(), resource: Some(i), scopes });
                            limit.take();
                        }
                    }
                    processed = true;
                }
                if !processed {
                    for s in &scope_ids {
                        if limit.exhausted() {
                            break;
                        }
                        limit.take();
                        if plan.index(s).is_none() {
                            plan.works.push(Work { key: s.clone(), resource: None, scopes: vec![s.clone()] });
                        }
                    }
                }
            }
        }
    }
    // resolvePreviousGrantedPermissions: what a still active RPT holds for this server.
    for p in rpt.unwrap_or_default() {
        if limit.exhausted() {
            break;
        }
        let Some(idx) = p.get("rsid").and_then(|v| v.as_str()).and_then(|i| cx.resource_idx(i)) else { continue };
        let key = rs.resources[idx].id.clone();
        let w = match plan.index(&key) {
            Some(w) => w,
            None => {
                plan.works.push(Work { key, resource: Some(idx), scopes: vec![] });
                limit.take();
                plan.works.len() - 1
            }
        };
        for name in p.get("scopes").and_then(|s| s.as_array()).map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>()).unwrap_or_default() {
            if let Some(s) = rs.scope_by_name(name) {
                if !plan.works[w].scopes.contains(&s.id) {
                    plan.works[w].scopes.push(s.id.clone());
                }
            }
        }
    }
    Ok(plan)
}

/// Keycloak's `Permissions.all` (entitlement): every resource of the server, then every
/// resource the caller owns, each with all its scopes.
pub fn plan_all(rs: &ResourceServer, realm: &Realm, rs_client: &str, id: &Identity, limit: Option<i64>) -> Plan {
    let cx = Ctx { rs, realm, rs_client, id };
    let mut plan = Plan { works: vec![] };
    let mut left = limit.unwrap_or(i64::MAX);
    let mut owners = vec![None];
    if id.id != rs_client {
        owners.push(Some(id.id.clone()));
    }
    for owner in owners {
        for (i, r) in rs.resources.iter().enumerate() {
            if r.owner != owner {
                continue;
            }
            left -= 1;
            if left >= 0 {
                let scopes = cx.resolve_scopes(r, &[]);
                plan.works.push(Work { key: r.id.clone(), resource: Some(i), scopes });
            }
        }
    }
    plan
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effect {
    Permit,
    Deny,
}

/// Evaluate a plan; the granted permissions in plan order.
pub fn evaluate(rs: &ResourceServer, realm: &Realm, rs_client: &str, id: &Identity, plan: &Plan, include_names: bool) -> Vec<Granted> {
    let cx = Ctx { rs, realm, rs_client, id };
    let mut out: Vec<Granted> = Vec::new();
    for w in &plan.works {
        let resource = w.resource.map(|i| &rs.resources[i]);
        let granted = match rs.enforcement {
            Enforcement::Disabled => permit_all(resource, w),
            _ => {
                let applicable = applicable_policies(&cx, resource, w);
                if applicable.is_empty() {
                    match rs.enforcement {
                        Enforcement::Permissive => permit_all(resource, w),
                        _ => None,
                    }
                } else {
                    // Each permission's associated policies (a permission without any records
                    // nothing, as in Keycloak's collector).
                    let mut results: Vec<(&Policy, Vec<Effect>)> = Vec::new();
                    for p in applicable {
                        if p.associated.is_empty() || results.iter().any(|(q, _)| q.id == p.id) {
                            continue;
                        }
                        let effects = p.associated.iter().filter_map(|a| rs.policy(a)).map(|a| policy_effect(&cx, a, 0)).collect();
                        results.push((p, effects));
                    }
                    if results.is_empty() {
                        None
                    } else {
                        collect(&cx, resource, w, &results)
                    }
                }
            }
        };
        if let Some(scopes) = granted {
            let mut names = rs.scope_names(&scopes);
            names.dedup();
            let g = Granted {
                rsid: resource.map(|r| r.id.clone()),
                rsname: if include_names { resource.map(|r| r.name.clone()) } else { None },
                scopes: names,
            };
            // A set keyed by resource id.
            if !out.iter().any(|x| x.rsid == g.rsid) {
                out.push(g);
            }
        }
    }
    out
}

/// A result granted outright (enforcement disabled, or permissive without policies).
fn permit_all(resource: Option<&Resource>, w: &Work) -> Option<Vec<String>> {
    if w.scopes.is_empty() && resource.is_some_and(|r| !r.scopes.is_empty()) {
        return None;
    }
    Some(w.scopes.clone())
}

/// `DefaultPolicyEvaluator`: the permissions that apply to a resource and scopes.
fn applicable_policies<'a>(cx: &Ctx<'a>, resource: Option<&Resource>, w: &Work) -> Vec<&'a Policy> {
    let rs = cx.rs;
    let mut out: Vec<&Policy> = Vec::new();
    if let Some(r) = resource {
        out.extend(rs.policies.iter().filter(|p| p.resources.contains(&r.id)));
        if let Some(t) = &r.kind {
            out.extend(rs.policies.iter().filter(|p| p.resource_type.as_ref() == Some(t)));
            if r.owner.is_some() {
                for typed in rs.resources.iter().filter(|x| x.kind.as_ref() == Some(t)) {
                    out.extend(rs.policies.iter().filter(|p| p.resources.contains(&typed.id)));
                }
            }
        }
    }
    if !w.scopes.is_empty() {
        out.extend(rs.policies.iter().filter(|p| {
            p.kind == "scope" && p.resources.is_empty() && p.resource_type.is_none() && p.scopes.iter().any(|s| w.scopes.contains(s))
        }));
    }
    out
}

/// The effect of one (non-permission) policy, its logic applied.
fn policy_effect(cx: &Ctx, p: &Policy, depth: usize) -> Effect {
    let granted = match p.kind.as_str() {
        "role" => role_granted(cx, p),
        "user" => p.users.contains(&cx.id.id),
        "client" => cx.realm.client(&cx.id.client_id).is_some_and(|c| p.clients.contains(&c.id)),
        "aggregate" if depth < 16 => {
            let effects: Vec<Effect> = p.associated.iter().filter_map(|a| cx.rs.policy(a)).map(|a| policy_effect(cx, a, depth + 1)).collect();
            strategy_grants(p.decision, &effects, p.associated.len())
        }
        _ => false,
    };
    match (granted, p.negative) {
        (true, false) | (false, true) => Effect::Permit,
        _ => Effect::Deny,
    }
}

/// `RolePolicyProvider`: any of the roles grants, unless a required one is missing.
fn role_granted(cx: &Ctx, p: &Policy) -> bool {
    let user_roles = if p.fetch_roles {
        cx.realm.user_by_id(&cx.id.user_id).map(|u| cx.realm.effective_roles(u)).unwrap_or_default()
    } else {
        Default::default()
    };
    let has = |role: &RoleId| -> bool {
        if p.fetch_roles {
            return user_roles.contains(role);
        }
        match &role.0 {
            None => cx.id.realm_roles.contains(&role.1),
            Some(c) => cx.id.client_roles.get(c).is_some_and(|s| s.contains(&role.1)),
        }
    };
    let mut granted = false;
    for (role, required) in &p.roles {
        let h = has(role);
        if !h && *required {
            return false;
        }
        granted |= h;
    }
    granted
}

/// `AbstractDecisionCollector.isGranted` for a permission's (or aggregate's) policies.
fn strategy_grants(s: Strategy, effects: &[Effect], associated: usize) -> bool {
    match s {
        Strategy::Affirmative => effects.contains(&Effect::Permit),
        Strategy::Consensus => {
            let grants = effects.iter().filter(|e| **e == Effect::Permit).count();
            grants > associated.saturating_sub(grants)
        }
        Strategy::Unanimous => !effects.contains(&Effect::Deny),
    }
}

/// `DecisionPermissionCollector.onComplete` for a result evaluated against permissions:
/// the granted scope ids, or `None` when nothing is granted.
fn collect(cx: &Ctx, resource: Option<&Resource>, w: &Work, results: &[(&Policy, Vec<Effect>)]) -> Option<Vec<String>> {
    let requested = &w.scopes;
    let mut granted: Vec<String> = Vec::new();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    let mut resource_granted = false;
    let mut any_deny = false;
    let add = |v: &mut Vec<String>, s: &String| {
        if !v.contains(s) {
            v.push(s.clone());
        }
    };
    for (p, effects) in results {
        let contains = resource.is_some_and(|r| p.resources.contains(&r.id));
        if strategy_grants(p.decision, effects, p.associated.len()) {
            if p.kind == "scope" {
                for s in requested {
                    if p.scopes.contains(s) {
                        add(&mut granted, s);
                        if resource.is_some_and(|r| !r.scopes.contains(s)) {
                            denied.remove(s);
                        }
                    }
                }
            } else if p.kind == "resource" {
                for s in requested {
                    add(&mut granted, s);
                }
            }
            if !resource_granted {
                // A scope permission grants the resource itself only for a resource the
                // server does not own.
                let grants_resource = p.kind != "scope" || resource.is_some_and(|r| !cx.owned_by(r, cx.rs_client));
                resource_granted = grants_resource && contains;
            }
        } else {
            if p.kind == "resource" {
                if contains || !resource_granted {
                    denied.extend(requested.iter().cloned());
                }
            } else if contains || p.resources.is_empty() {
                denied.extend(p.scopes.iter().cloned());
            }
            any_deny = true;
        }
    }
    if cx.rs.decision == Strategy::Affirmative {
        for s in &granted {
            denied.remove(s);
        }
    }
    granted.retain(|s| !denied.contains(s));
    if !resource_granted && granted.is_empty() && !requested.is_empty() {
        return None;
    }
    if any_deny && granted.is_empty() {
        return None;
    }
    // Keep the resource's scope order.
    if let Some(r) = resource {
        granted.sort_by_key(|s| r.scopes.iter().position(|x| x == s).unwrap_or(usize::MAX));
    }
    Some(granted)
}
