//! Self-registration (`registrations` endpoint and `login-actions/registration`).

use crate::http::{Ctx, Out};
use crate::model::{Realm, User};
use crate::oidc::{complete_login, error_page, find_tab, login_action_url, sso_session};
use crate::pages;
use crate::state::{App, Store};
use crate::util::{uuid, Params};
use axum::http::Method;

pub fn registration_page(
    realm: &Realm, ctx: &Ctx, client_id: &str, tab_id: &str, values: [&str; 4], error: Option<(&str, &str)>, status: u16,
) -> Out {
    let action = login_action_url(realm, ctx, "registration", client_id, tab_id);
    let login_url = format!(
        "{}/login-actions/authenticate?client_id={}&tab_id={}",
        ctx.issuer(&realm.name),
        crate::util::enc(client_id),
        crate::util::enc(tab_id)
    );
    let title = pages::realm_title(&realm.name, realm.display_name.as_deref());
    Out::page(
        status,
        pages::register(&pages::RegisterPage {
            realm_title: &title,
            action: &action,
            login_url: &login_url,
            values,
            error,
            email_as_username: realm.registration_email_as_username,
        }),
    )
}

fn valid_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty() && !domain.starts_with('.') && !e.contains(char::is_whitespace) && !domain.contains('@'),
        None => false,
    }
}

pub fn registration_action(app: &App, realm: &mut Realm, store: &mut Store, ctx: &Ctx) -> Out {
    if !realm.registration_allowed {
        return error_page(realm, 400, "Registration not allowed");
    }
    let sso = sso_session(realm, store, ctx);
    let (tab_id, tab) = match find_tab(realm, store, ctx) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let req = tab.req.clone();
    if tab.completed {
        return error_page(realm, 400, "Your login attempt timed out. Login will start from the beginning.");
    }
    if ctx.method != Method::POST {
        let out = registration_page(realm, ctx, &req.client_id, &tab_id, [""; 4], None, 200);
        return crate::login_params::localize(out, realm, ctx, req.ui_locales.as_deref());
    }
    let f = Params::parse_bytes(&ctx.body);
    let first = f.get("firstName").unwrap_or("").trim().to_string();
    let last = f.get("lastName").unwrap_or("").trim().to_string();
    let email = f.get("email").unwrap_or("").trim().to_lowercase();
    let mut username = f.get("username").unwrap_or("").trim().to_lowercase();
    if realm.registration_email_as_username {
        username = email.clone();
    }
    let password = f.get("password").unwrap_or("");
    let confirm = f.get("password-confirm").unwrap_or("");
    let values = [first.as_str(), last.as_str(), email.as_str(), username.as_str()];
    let problem: Option<(&str, &str)> = if username.is_empty() && !realm.registration_email_as_username {
        Some(("username", "Please specify username."))
    } else if email.is_empty() {
        Some(("email", "Please specify email."))
    } else if !valid_email(&email) {
        Some(("email", "Invalid email address."))
    } else if first.is_empty() {
        Some(("firstName", "Please specify first name."))
    } else if last.is_empty() {
        Some(("lastName", "Please specify last name."))
    } else if password.is_empty() {
        Some(("password", "Please specify password."))
    } else if password != confirm {
        Some(("password-confirm", "Password confirmation doesn't match."))
    } else if realm.users.iter().any(|u| u.username == username) {
        Some(("username", "Username already exists."))
    } else if realm.users.iter().any(|u| u.email.as_deref() == Some(email.as_str())) {
        Some(("email", "Email already exists."))
    } else {
        None
    };
    if let Some(p) = problem {
        let out = registration_page(realm, ctx, &req.client_id, &tab_id, values, Some(p), 200);
        return crate::login_params::localize(out, realm, ctx, req.ui_locales.as_deref());
    }
    tab.completed = true;
    let user = User {
        id: uuid(),
        username,
        enabled: true,
        email: Some(email),
        first_name: Some(first),
        last_name: Some(last),
        email_verified: false,
        password: Some(password.to_string()),
        realm_roles: vec![],
        client_roles: Default::default(),
        service_account: None,
        created: crate::util::now_ms(),
        password_created: crate::util::now_ms(),
    };
    realm.users.push(user.clone());
    let sid = crate::oidc::login_user(realm, store, sso, &user);
    complete_login(app, realm, store, ctx, &req, &sid, 1)
}
