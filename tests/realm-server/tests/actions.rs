//! Application-initiated actions (`kc_action`): the update-password page after login or
//! on an existing session, `kc_action` + `kc_action_status` in the success redirect
//! (after `iss`, before `code`), cancel, errors that keep the form, unknown actions.

mod common;
use common::*;

fn fresh() -> Server {
    Server::with_demo_edited(&[])
}

/// Logs alice in with `kc_action=UPDATE_PASSWORD`; returns the update-password page.
fn to_action_page(srv: &Server, jar: &mut Jar, action: &str) -> Resp {
    let r = login(srv, jar, &auth_path(&[("kc_action", action)]), "alice", "alice");
    assert_eq!(r.status, 200, "expected the action page, got {} {}", r.status, r.body);
    r
}

#[test]
fn update_password_after_login_succeeds_and_the_new_password_works() {
    let srv = fresh();
    let mut jar = Jar::default();
    let page = to_action_page(&srv, &mut jar, "UPDATE_PASSWORD");
    assert!(page.body.contains("id=\"kc-passwd-update-form\""), "{}", page.body);
    assert!(page.body.contains("name=\"password-new\"") && page.body.contains("name=\"password-confirm\"") && page.body.contains("name=\"cancel-aia\""));
    let action = form_action(&page.body);
    assert!(action.starts_with("/realms/demo/login-actions/required-action?"), "{action}");

    let mismatch = srv.post_form(&action, &[("Cookie", &jar.header())], &[("password-new", "n1"), ("password-confirm", "n2")]);
    assert_eq!(mismatch.status, 200);
    assert!(mismatch.body.contains("Passwords don&#39;t match.") || mismatch.body.contains("Passwords don't match."), "{}", mismatch.body);
    let empty = srv.post_form(&action, &[("Cookie", &jar.header())], &[("password-new", ""), ("password-confirm", "")]);
    assert!(empty.body.contains("Please specify password."));

    let ok = srv.post_form(&action, &[("Cookie", &jar.header())], &[("password-new", "fresh"), ("password-confirm", "fresh")]);
    assert_eq!(ok.status, 302, "{}", ok.body);
    let loc = ok.location().to_string();
    assert!(loc.contains("&kc_action=UPDATE_PASSWORD&kc_action_status=success&code="), "{loc}");
    let cb = callback_params(&loc, false);
    assert_eq!(exchange(&srv, &cb["code"], REDIRECT, Some(VERIFIER), &[]).status, 200);

    let old = login(&srv, &mut Jar::default(), &auth_path(&[]), "alice", "alice");
    assert_eq!(old.status, 200, "the old password no longer works");
    let new = login(&srv, &mut Jar::default(), &auth_path(&[]), "alice", "fresh");
    assert_eq!(new.status, 302);
    assert!(!new.location().contains("kc_action"), "no action, no echo");
}

#[test]
fn cancel_keeps_the_password_and_reports_cancelled() {
    let srv = fresh();
    let mut jar = Jar::default();
    let page = to_action_page(&srv, &mut jar, "update_password");
    let r = srv.post_form(&form_action(&page.body), &[("Cookie", &jar.header())], &[("cancel-aia", "true")]);
    assert_eq!(r.status, 302);
    let cb = callback_params(r.location(), false);
    assert_eq!((cb["kc_action"].as_str(), cb["kc_action_status"].as_str()), ("UPDATE_PASSWORD", "cancelled"));
    assert!(cb.contains_key("code"));
    assert_eq!(login(&srv, &mut Jar::default(), &auth_path(&[]), "alice", "alice").status, 302);
}

#[test]
fn an_existing_session_goes_straight_to_the_action() {
    let srv = fresh();
    let mut jar = Jar::default();
    assert_eq!(login(&srv, &mut jar, &auth_path(&[]), "alice", "alice").status, 302);
    let page = srv.get(&auth_path(&[("kc_action", "UPDATE_PASSWORD")]), &[("Cookie", &jar.header())]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("kc-passwd-update-form"));
}

#[test]
fn an_unknown_action_returns_error_status_without_a_form() {
    let srv = fresh();
    let mut jar = Jar::default();
    let r = login(&srv, &mut jar, &auth_path(&[("kc_action", "NO_SUCH_ACTION:x")]), "alice", "alice");
    assert_eq!(r.status, 302);
    let cb = callback_params(r.location(), false);
    assert_eq!((cb["kc_action"].as_str(), cb["kc_action_status"].as_str()), ("NO_SUCH_ACTION", "error"));
}

#[test]
fn a_forged_or_stale_action_post_is_refused() {
    let srv = fresh();
    let r = srv.post_form("/realms/demo/login-actions/required-action?tab_id=nope", &[], &[("password-new", "x"), ("password-confirm", "x")]);
    assert_eq!(r.status, 400);
    let mut jar = Jar::default();
    let page = to_action_page(&srv, &mut jar, "UPDATE_PASSWORD");
    let action = form_action(&page.body);
    assert_eq!(srv.post_form(&action, &[("Cookie", &jar.header())], &[("cancel-aia", "true")]).status, 302);
    let again = srv.post_form(&action, &[("Cookie", &jar.header())], &[("password-new", "y"), ("password-confirm", "y")]);
    assert_eq!(again.status, 400, "the action is over");
}
