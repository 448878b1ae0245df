//! Application-initiated actions (`kc_action` on the authorization endpoint): after the
//! user is authenticated (login form or SSO cookie) the action's page is shown; its
//! outcome goes back to the app in the success redirect as `kc_action` and
//! `kc_action_status` (`success`, `cancelled` or `error`). Only `UPDATE_PASSWORD` has a
//! page here; any other alias ends at once with `kc_action_status=error`, as Keycloak
//! answers an action that is unknown or not enabled in the realm.

use crate::http::{Ctx, Out};
use crate::login_params;
use crate::model::Realm;
use crate::oidc::{auth_root, complete_login, error_page, find_tab, login_action_url_for, sso_session, tab_finished};
use crate::pages;
use crate::state::{App, AuthRequest, AuthTab, PendingAction, Store};
use crate::util::{self, now, now_ms, Params};
use axum::http::Method;

pub const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";

/// Keycloak's default maximum age of the authentication for an application-initiated
/// action (`KC_ACTION_MAX_AGE`, 300 s): an older SSO login must log in again first.
pub const KC_ACTION_MAX_AGE: i64 = 300;

/// Whether this server runs the action (aliases are case-sensitive, as in Keycloak).
pub fn supported(action: Option<&str>) -> bool {
    action == Some(UPDATE_PASSWORD)
}

/// An SSO session authenticated at `auth_time` is too old for the action.
pub fn needs_reauth(action: Option<&str>, auth_time: i64) -> bool {
    supported(action) && auth_time.saturating_add(KC_ACTION_MAX_AGE) < now()
}

/// The user is authenticated (`loa` 1 by the form, 0 by SSO): show the action's page, or
/// for an action we do not run, finish the login with `kc_action_status=error`. `tab_id`
/// is the tab that showed the login form (none after SSO: a tab is created).
#[allow(clippy::too_many_arguments)]
pub fn start(
    app: &App, realm: &Realm, store: &mut Store, ctx: &Ctx, mut req: AuthRequest, sid: String, loa: i32, tab_id: Option<String>,
) -> Out {
    if !supported(req.action.as_deref()) {
        req.action_status = Some("error");
        return complete_login(app, realm, store, ctx, &req, &sid, loa);
    }
    let (root_id, set_cookie) = auth_root(realm, store, ctx);
    let tab_id = tab_id.unwrap_or_else(|| util::random_token(8));
    let client_id = req.client_id.clone();
    let ui_locales = req.ui_locales.clone();
    let pending = PendingAction { session_id: sid, loa };
    if let Some(a) = store.auth_sessions.get_mut(&root_id) {
        match a.tabs.get_mut(&tab_id) {
            Some(tab) => {
                tab.completed = true;
                tab.pending = Some(pending);
            }
            None => {
                a.tabs.insert(tab_id.clone(), AuthTab { req, created: now(), completed: true, pending: Some(pending) });
            }
        }
    }
    let mut out = page(realm, ctx, &client_id, &tab_id, ui_locales.as_deref(), None);
    if let Some(c) = set_cookie {
        out.headers.push(("set-cookie", c));
    }
    out
}

fn page(realm: &Realm, ctx: &Ctx, client_id: &str, tab_id: &str, ui_locales: Option<&str>, error: Option<(&str, &str)>) -> Out {
    let action = login_action_url_for(realm, ctx, "required-action", UPDATE_PASSWORD, client_id, tab_id);
    let title = pages::realm_title(&realm.name, realm.display_name.as_deref());
    let out = Out::page(200, pages::update_password(&title, &action, error, true));
    login_params::localize(out, realm, ctx, ui_locales)
}

/// `login-actions/required-action`: the update-password form. `cancel-aia` returns
/// `cancelled`; an empty new password (`Please specify password.`) or a different
/// confirmation (`Passwords don't match.`) shows the form again with the error; otherwise
/// the password is replaced (other sessions of the user end when `logout-sessions=on`)
/// and the app gets `success`.
pub fn action(app: &App, realm: &mut Realm, store: &mut Store, ctx: &Ctx) -> Out {
    let sso = sso_session(realm, store, ctx);
    let (tab_id, mut req, pending) = match find_tab(realm, store, ctx) {
        Ok((id, tab)) => (id, tab.req.clone(), tab.pending.clone()),
        Err(e) => return e,
    };
    let Some(pending) = pending else {
        return tab_finished(realm, ctx, &req, sso.is_some());
    };
    let ui_locales = req.ui_locales.clone();
    if ctx.method != Method::POST {
        return page(realm, ctx, &req.client_id, &tab_id, ui_locales.as_deref(), None);
    }
    let sid = pending.session_id.clone();
    let user_id = match store.sessions.get(&sid) {
        Some(s) if s.active(realm.sso_idle, realm.sso_max, now()) => s.user_id.clone(),
        _ => {
            clear_pending(realm, store, ctx);
            return error_page(realm, 400, "Your login attempt timed out. Login will start from the beginning.");
        }
    };
    let form = Params::parse_bytes(&ctx.body);
    if form.count("cancel-aia") > 0 {
        req.action_status = Some("cancelled");
    } else {
        let new = form.get("password-new").unwrap_or("");
        let confirm = form.get("password-confirm").unwrap_or("");
        if new.trim().is_empty() {
            return page(realm, ctx, &req.client_id, &tab_id, ui_locales.as_deref(), Some(("password", "Please specify password.")));
        }
        if new != confirm {
            return page(realm, ctx, &req.client_id, &tab_id, ui_locales.as_deref(), Some(("password-confirm", "Passwords don't match.")));
        }
        let Some(user) = realm.users.iter_mut().find(|u| u.id == user_id) else {
            clear_pending(realm, store, ctx);
            return error_page(realm, 400, "Your login attempt timed out. Login will start from the beginning.");
        };
        user.password = Some(new.to_string());
        user.password_created = now_ms();
        if form.get("logout-sessions") == Some("on") {
            let name = realm.name.clone();
            store.sessions.retain(|id, s| !(s.realm == name && s.user_id == user_id && *id != sid));
        }
        req.action_status = Some("success");
    }
    clear_pending(realm, store, ctx);
    complete_login(app, realm, store, ctx, &req, &sid, pending.loa)
}

/// The action is over (done, cancelled or impossible): the tab cannot be posted again.
fn clear_pending(realm: &Realm, store: &mut Store, ctx: &Ctx) {
    if let Ok((_, tab)) = find_tab(realm, store, ctx) {
        tab.pending = None;
    }
}
